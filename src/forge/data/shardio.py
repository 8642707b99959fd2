"""Atomic shard outputs and the context every shard task gets.

A shard task writes into ``<dir>.tmp``, finishes with ``stats.json`` (the marker), and
renames the folder to ``<dir>``: a folder that exists is whole. A task killed half-way leaves
only a ``.tmp`` folder, which the next run deletes and redoes. Outputs are deterministic, so
the redone shard is byte-identical.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from forge.config.data import PreprocessingConfig
from forge.config.model import ModelConfig
from forge.data.plan import Plan

MARKER = "stats.json"

SCRATCH_PARQUET: dict[str, Any] = {"compression": "none", "use_dictionary": False}
"""Writer options for Parquet that only forge reads back, once or twice, in the same run
(records and key tables between the passes, band buckets, decisions): no dictionary and no
compression, which cost more CPU to write and read than the disk they save. Values read
back are the same whatever the options, so the outputs do not depend on them."""
OUTPUT_PARQUET: dict[str, Any] = {"compression": "snappy", "use_dictionary": True}
"""Writer options for the chat outputs (pyarrow's defaults, which readers expect). Pass 2
writes each shard's part with them, in row groups of OUTPUT_ROW_GROUP rows or the shard's
last ones, and the final step joins the parts' row groups as they are (forge.data.pqjoin)."""
OUTPUT_ROW_GROUP = 2048


@dataclass
class Ctx:
    """Everything a shard task needs (picklable: it crosses process and Ray boundaries)."""

    plan: Plan
    pre: PreprocessingConfig
    model: ModelConfig
    work: str
    out: str
    max_tokens: int | None = None


def shard_dir(work: str | Path, stage: str, index: int) -> Path:
    return Path(work) / stage / f"shard-{index:05d}"


def is_done(work: str | Path, stage: str, index: int) -> bool:
    return (shard_dir(work, stage, index) / MARKER).is_file()


def read_stats(work: str | Path, stage: str, index: int) -> dict[str, Any]:
    return orjson.loads((shard_dir(work, stage, index) / MARKER).read_bytes())


def begin(work: str | Path, stage: str, index: int) -> Path:
    """A fresh temporary folder for the shard."""
    tmp = shard_dir(work, stage, index).with_suffix(".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def commit(tmp: Path, stats: dict[str, Any]) -> None:
    """Write the marker last, then publish the folder in one rename."""
    (tmp / MARKER).write_bytes(orjson.dumps(stats, option=orjson.OPT_SORT_KEYS))
    final = tmp.with_suffix("")
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def stage_counts() -> dict[str, int]:
    return {"in": 0, "out": 0, "rejected": 0}
