"""Migrate older forge.yaml layouts to the current version.

Version 0 (before the file had a `version` key) was a flat dump written by an early
`forge plan`; docs/config.md describes it. Each step is a pure function on plain dicts
(``migrate_0_to_1``). A migration keeps the meaning of the old file: where version 0 chose
something implicitly (the chat template from the model name), version 1 writes it down.
Keys version 1 does away with are reported in ``notices``; unknown keys are errors.
"""

from __future__ import annotations

import copy
import difflib
from typing import Any

from forge.config.schema import CURRENT_VERSION
from forge.errors import ConfigError

# Version 0 template names -> version 1 template names (reference: forge-yaml-v0).
V0_TEMPLATES = {
    "chatml": "chatml",
    "llama": "llama-2",
    "alpaca": "alpaca",
    "gemma": "gemma",
    "vicuna": "vicuna",
}
# Without `chat_template`, version 0 chose the template from the model name's prefix.
V0_NAME_PREFIXES = {
    "microsoft/dialogpt": "chatml",
    "meta-llama/llama": "llama-2",
    "google/gemma": "gemma",
    "lmsys/vicuna": "vicuna",
    "tatsu-lab/alpaca": "alpaca",
}
V0_KEYS = {
    "model": {"name", "architecture", "chat_template", "max_length", "special_tokens"},
    "hardware": {
        "gpu_arch",
        "vram_gb",
        "compute_capability",
        "recommended_batch_size",
        "use_gpu_preprocessing",
    },
    "preprocessing": {
        "train_split",
        "validation_split",
        "chunk_size",
        "quality_checks",
        "streaming_threshold_gb",
    },
}
# Version 0 keys that version 1 handles by itself.
V0_AUTOMATIC = {
    "hardware.use_gpu_preprocessing": "GPU preprocessing is chosen per step",
    "preprocessing.chunk_size": "shards are sized automatically",
    "preprocessing.quality_checks": "quality filters are configured under preprocessing",
    "preprocessing.streaming_threshold_gb": "inputs are always streamed",
}


def _where(source: str, lines: dict[tuple, int] | None, path: tuple) -> str:
    line = (lines or {}).get(path)
    return f"{source}:{line}" if line else source


def _check_keys(old: dict[str, Any], source: str, lines: dict[tuple, int] | None) -> None:
    for section, allowed in V0_KEYS.items():
        value = old.get(section)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise ConfigError(
                f"{_where(source, lines, (section,))}: {section}: must be a mapping in a "
                f"version 0 file (got {type(value).__name__})",
                "fix the section, or add `version: 1` if the file is in the new layout",
            )
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.5)
                hint = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else f"allowed: {', '.join(sorted(allowed))}"
                )
                raise ConfigError(
                    f"{_where(source, lines, (section, key))}: {section}.{key}: unknown key in a "
                    f"version 0 file ({hint})",
                    "fix the key, or add `version: 1` if the file is already in the new layout",
                )


def _cc_from_arch(arch: str | None) -> str | None:
    """`sm_86` -> `8.6`."""
    if arch and arch.startswith("sm_") and arch[3:].isdigit() and len(arch) >= 5:
        return f"{arch[3:-1]}.{arch[-1]}"
    return None


def migrate_0_to_1(
    old: dict[str, Any],
    source: str,
    notices: list[str] | None = None,
    lines: dict[tuple, int] | None = None,
) -> dict[str, Any]:
    old = copy.deepcopy(old)
    notices = notices if notices is not None else []
    _check_keys(old, source, lines)
    new: dict[str, Any] = {"version": 1}
    model = old.pop("model", None) or {}
    hardware = old.pop("hardware", None) or {}
    prep = old.pop("preprocessing", None) or {}
    for section in ("data", "training", "tracking", "index"):
        if section in old:
            new[section] = old.pop(section)
    if old:
        from forge.config.schema import ForgeConfig

        key = str(next(iter(old)))
        known = sorted({*V0_KEYS, *ForgeConfig.model_fields})
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
        what = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(known)}"
        raise ConfigError(
            f"{_where(source, lines, (key,))}: {key}: unknown key ({what}); "
            "without `version:` the file is read as version 0",
            "fix the key, and add `version: 1` if the file is already in the new layout",
        )

    m: dict[str, Any] = {}
    for key in ("name", "max_length", "special_tokens"):
        if model.get(key) is not None:
            m[key] = model[key]
    if model.get("architecture"):
        m["family"] = model["architecture"]
    tpl = model.get("chat_template")
    if tpl:
        m["chat_template"] = V0_TEMPLATES.get(tpl, tpl)
    elif isinstance(model.get("name"), str):
        name = model["name"].lower()
        for prefix, t in V0_NAME_PREFIXES.items():
            if name.startswith(prefix):
                m["chat_template"] = t
                notices.append(
                    f"model.chat_template: version 0 chose `{t}` from the model name; "
                    "version 1 writes it down"
                )
                break
    if m:
        new["model"] = m

    h: dict[str, Any] = {}
    arch = hardware.get("gpu_arch")
    if arch == "cpu":
        h["device"] = "cpu"
        h["gpus"] = []
    elif hardware.get("vram_gb"):
        cc = hardware.get("compute_capability")
        h["gpus"] = [
            {
                "name": f"GPU ({arch})" if arch else "GPU",
                "vram_gb": float(hardware["vram_gb"]),
                "compute_capability": str(cc) if cc is not None else _cc_from_arch(arch),
            }
        ]
    if h:
        new["hardware"] = h
    if hardware.get("recommended_batch_size"):
        new.setdefault("training", {}).setdefault(
            "batch_size", int(hardware["recommended_batch_size"])
        )

    if "validation_split" in prep or "train_split" in prep:
        split: dict[str, Any] = {}
        val = float(prep.get("validation_split", 0.0) or 0.0)
        train = float(prep.get("train_split", 1.0 - val))
        if train + val > 1.0 + 1e-9:
            raise ConfigError(
                f"{_where(source, lines, ('preprocessing', 'train_split'))}: "
                f"preprocessing.train_split + validation_split is {train + val:g}, more than 1",
                "make the fractions add up to at most 1",
            )
        split["validation"] = val
        rest = round(1.0 - train - val, 10)
        if rest > 0:  # version 0 left it unused; version 1 keeps it as a test split
            split["test"] = rest
            notices.append(
                f"preprocessing: the {rest:g} of rows outside train_split and "
                "validation_split becomes the test split"
            )
        new["preprocessing"] = {"split": split}
    for key, why in V0_AUTOMATIC.items():
        section, name = key.split(".")
        src = hardware if section == "hardware" else prep
        if name in src:
            notices.append(f"{key} is dropped: {why} in version 1")
    return new


STEPS = {0: migrate_0_to_1}


def migrate(
    data: dict[str, Any],
    source: str = "forge.yaml",
    notices: list[str] | None = None,
    lines: dict[tuple, int] | None = None,
) -> dict[str, Any]:
    """Bring a raw config dict up to CURRENT_VERSION, one step at a time."""
    version = data.get("version", 0)
    if not isinstance(version, int) or version > CURRENT_VERSION or version < 0:
        raise ConfigError(
            f"{source}: version: unknown config version {version!r} (this forge knows 0..{CURRENT_VERSION})",
            "upgrade forge, or fix the version key",
        )
    while version < CURRENT_VERSION:
        data = STEPS[version](data, source, notices, lines)
        version = data["version"]
    return data
