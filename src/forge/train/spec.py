"""What a run trains: forge.yaml merged over the model preset (src/forge/catalog/presets.yaml).

Precedence: a key set in forge.yaml (or --set / CLI flags) > the preset's value > the schema
default. ``resolve`` returns the effective TrainingConfig, the preset's model section and the
preset name.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from forge.config.training import TrainingConfig
from forge.errors import ForgeError

PRESETS_FILE = Path(__file__).resolve().parents[1] / "catalog" / "presets.yaml"
DEFAULT_PRESET = "char-tiny"


@cache
def presets() -> dict[str, dict[str, Any]]:
    """Every forge GPT preset by name."""
    data = yaml.safe_load(PRESETS_FILE.read_text(encoding="utf-8"))
    return {p["name"]: p for p in data["presets"]}


def preset(name: str) -> dict[str, Any]:
    table = presets()
    if name not in table:
        import difflib

        close = difflib.get_close_matches(name, list(table), n=1)
        raise ForgeError(
            f"model.name: '{name}' is not a forge GPT preset (known: {', '.join(table)})",
            f"did you mean '{close[0]}'?"
            if close
            else "forge train trains a preset from scratch; set model.name to one of them",
        )
    return table[name]


def resolve(training: TrainingConfig, model_name: str | None) -> tuple[TrainingConfig, dict, str]:
    """Effective training config, the preset's model section, and the preset name."""
    name = model_name or DEFAULT_PRESET
    p = preset(name)
    merged = dict(p.get("training", {}))
    merged.update(training.model_dump(include=training.model_fields_set))
    gpt = {k: v for k, v in p["model"].items() if k != "vocab"}
    gpt.update(training.gpt.model_dump(exclude_none=True))
    merged["gpt"] = gpt
    merged["method"] = "scratch"
    eff = TrainingConfig.model_validate({**training.model_dump(), **merged})
    if eff.min_lr is None:
        eff.min_lr = eff.lr / 10
    return eff, p["model"], name
