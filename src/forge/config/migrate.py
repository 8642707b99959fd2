"""Migrate older forge.yaml layouts to the current version.

Version 0 (before the file had a `version` key) was a flat dump written by an early
`forge plan`; its layout is documented in docs/config.md. Each step is a pure function on
plain dicts: ``migrate_0_to_1``.
"""

from __future__ import annotations

import copy
from typing import Any

from forge.config.schema import CURRENT_VERSION
from forge.errors import ConfigError

# Version 0 template names -> version 1 template names.
V0_TEMPLATES = {
    "chatml": "chatml",
    "llama": "llama-2",
    "alpaca": "alpaca",
    "gemma": "gemma",
    "vicuna": "vicuna",
}


def migrate_0_to_1(old: dict[str, Any], source: str) -> dict[str, Any]:
    old = copy.deepcopy(old)
    new: dict[str, Any] = {"version": 1}
    model = old.pop("model", None) or {}
    hardware = old.pop("hardware", None) or {}
    prep = old.pop("preprocessing", None) or {}
    for section in ("data", "training", "tracking", "index"):
        if section in old:
            new[section] = old.pop(section)
    if old:
        raise ConfigError(
            f"{source}: version 0 file has unknown sections: {', '.join(map(str, old))}",
            "remove them or add `version: 1` if the file is already in the new layout",
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
                "compute_capability": str(cc) if cc is not None else None,
            }
        ]
    if h:
        new["hardware"] = h
    if hardware.get("recommended_batch_size"):
        new.setdefault("training", {}).setdefault(
            "batch_size", int(hardware["recommended_batch_size"])
        )

    if "validation_split" in prep:
        new["preprocessing"] = {"split": {"validation": prep["validation_split"]}}
    # train_split is implied (1 - validation); chunk_size, quality_checks,
    # streaming_threshold_gb and use_gpu_preprocessing are automatic in version 1.
    return new


STEPS = {0: migrate_0_to_1}


def migrate(data: dict[str, Any], source: str = "forge.yaml") -> dict[str, Any]:
    """Bring a raw config dict up to CURRENT_VERSION, one step at a time."""
    version = data.get("version", 0)
    if not isinstance(version, int) or version > CURRENT_VERSION or version < 0:
        raise ConfigError(
            f"{source}: version: unknown config version {version!r} (this forge knows 0..{CURRENT_VERSION})",
            "upgrade forge, or fix the version key",
        )
    while version < CURRENT_VERSION:
        data = STEPS[version](data, source)
        version = data["version"]
    return data
