"""Hashes that decide whether prepared data is up to date, and the manifest itself.

A rerun compares five hashes with the manifest's: the inputs (every file's bytes), the config
(`data`, `preprocessing` and the model keys that change the output), the chat template, the
tokenizer and the forge version. All equal: nothing to do. Any different: rebuild.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import xxhash

from forge import __version__

MANIFEST = "manifest.json"


def file_hash(path: str | Path) -> str:
    h = xxhash.xxh64()
    # one buffer read into again and again (a new 4 MB bytes object per block cost ~15% more)
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def input_entries(paths: list[str]) -> list[dict[str, Any]]:
    return [{"path": p, "bytes": Path(p).stat().st_size, "xxh64": file_hash(p)} for p in paths]


def digest(obj: Any) -> str:
    return xxhash.xxh64(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()


def config_hash(data_cfg: Any, pre_cfg: Any, model_cfg: Any) -> str:
    """Only what changes the data: `workers`, `executor`, `report` and DuckDB's memory
    limits do not."""
    pre = pre_cfg.model_dump(mode="json")
    for k in ("workers", "executor", "report"):
        pre.pop(k, None)
    for section in ("dedup", "split"):
        if isinstance(pre.get(section), dict):
            pre[section].pop("memory_limit", None)
    model = model_cfg.model_dump(mode="json")
    data = data_cfg.model_dump(mode="json")
    data.pop("output_dir", None)
    return digest({"data": data, "preprocessing": pre, "model": model})


def hashes(
    inputs: list[dict[str, Any]],
    cfg_hash: str,
    template_hash: str | None,
    tokenizer_hash: str | None,
) -> dict[str, str]:
    return {
        "config": cfg_hash,
        "template": template_hash or "",
        "tokenizer": tokenizer_hash or "",
        "forge": xxhash.xxh64(__version__.encode()).hexdigest(),
        "inputs": digest(inputs),
    }


def read_manifest(out: Path) -> dict[str, Any] | None:
    try:
        return orjson.loads((out / MANIFEST).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None


def changed(old: dict[str, Any] | None, new: dict[str, str]) -> list[str]:
    """Names of the hashes that differ (all of them when there is no manifest)."""
    if old is None:
        return list(new)
    prev = old.get("hashes", {})
    return [k for k, v in new.items() if prev.get(k) != v]
