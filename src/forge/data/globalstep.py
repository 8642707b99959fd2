"""The global step between the passes: which rows are duplicates, and which split each
remaining row goes to. Only the key tables are read, never the records.

The decisions come from forge.data.dedup.find_duplicates and forge.data.split.assign_splits.
Where those are not installed, a minimal stand-in runs (exact-hash dedup keeping the lowest
row id, a seeded random split with exact ratios) so the pipeline still works end to end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

DUP_SCHEMA = pa.schema([("row_id", pa.int64()), ("dup_of", pa.int64()), ("kind", pa.string())])
SPLIT_SCHEMA = pa.schema([("row_id", pa.int64()), ("split", pa.string())])
COPIES_SCHEMA = pa.schema([("row_id", pa.int64()), ("split", pa.string()), ("copies", pa.int32())])


def _read_keys(key_files: list[Path], columns: list[str]) -> pa.Table:
    tables = [pq.read_table(f, columns=columns) for f in key_files]
    return pa.concat_tables(tables) if tables else pa.table({c: [] for c in columns})


def _fallback_duplicates(key_files: list[Path], cfg: Any) -> pa.Table:
    if not getattr(cfg, "exact", True):
        return DUP_SCHEMA.empty_table()
    t = _read_keys(key_files, ["row_id", "exact_hash"])
    if t.num_rows == 0:
        return DUP_SCHEMA.empty_table()
    rid = t["row_id"].to_numpy()
    h = t["exact_hash"].to_numpy()
    order = np.lexsort((rid, h))
    h, rid = h[order], rid[order]
    first = np.ones(len(h), bool)
    first[1:] = h[1:] != h[:-1]
    keeper = rid[np.maximum.accumulate(np.where(first, np.arange(len(h)), 0))]
    dup = ~first
    return pa.table(
        {"row_id": rid[dup], "dup_of": keeper[dup], "kind": ["exact"] * int(dup.sum())},
        schema=DUP_SCHEMA,
    )


def _fallback_splits(key_files: list[Path], removed: set[int], cfg: Any, seed: int) -> pa.Table:
    t = _read_keys(key_files, ["row_id"])
    rid = t["row_id"].to_numpy()
    if removed:
        rid = rid[~np.isin(rid, np.fromiter(removed, np.int64, len(removed)))]
    rid = np.sort(rid)
    keys = np.array([xxhash.xxh64_intdigest(int(r).to_bytes(8, "little"), seed) for r in rid])
    order = np.argsort(keys, kind="stable")
    n = len(rid)
    n_val = int(round(getattr(cfg, "validation", 0.0) * n))
    n_test = int(round(getattr(cfg, "test", 0.0) * n))
    split = np.empty(n, dtype=object)
    split[order[:n_val]] = "validation"
    split[order[n_val : n_val + n_test]] = "test"
    split[order[n_val + n_test :]] = "train"
    return pa.table({"row_id": rid, "split": split.tolist()}, schema=SPLIT_SCHEMA)


def run_global(
    key_files: list[Path], pre: Any, work: Path
) -> tuple[pa.Table, pa.Table, dict[str, Any]]:
    """(duplicates, splits sorted by row_id with a `copies` column, info for the manifest)."""
    work.mkdir(parents=True, exist_ok=True)
    dedup_cfg, split_cfg, seed = pre.dedup, pre.split, pre.seed
    try:
        from forge.data.dedup import find_duplicates
        from forge.data.split import assign_splits
    except ImportError:
        dups = _fallback_duplicates(key_files, dedup_cfg)
        removed = set(dups["row_id"].to_pylist())
        splits = _fallback_splits(key_files, removed, split_cfg, seed)
        splits = splits.append_column("copies", pa.array(np.ones(splits.num_rows, np.int32)))
        return dups, splits, {"implementation": "built-in exact dedup + random split"}
    info: dict[str, Any] = {"implementation": "forge.data.dedup + forge.data.split"}
    dups = find_duplicates(key_files, dedup_cfg, work)
    splits = assign_splits(key_files, dups, split_cfg, seed, work)
    splits = splits.select(["row_id", "split"]).cast(SPLIT_SCHEMA)
    balance_cfg = getattr(pre, "balance", None)
    try:
        from forge.data.split import balance
    except ImportError:
        balance = None
    if balance is not None and balance_cfg is not None and balance_cfg.enabled:
        splits = balance(splits, key_files, balance_cfg, seed).select(["row_id", "split", "copies"])
        splits = splits.cast(COPIES_SCHEMA)
    else:
        splits = splits.append_column("copies", pa.array(np.ones(splits.num_rows, np.int32)))
    if getattr(split_cfg, "check_leakage", False):
        from forge.data.split import check_leakage

        info["leakage"] = check_leakage(key_files, splits, dedup_cfg, work)
    splits = splits.take(pc.sort_indices(splits["row_id"]))
    dups = dups.select(["row_id", "dup_of", "kind"]).cast(DUP_SCHEMA)
    return dups, splits, info


def write_decisions(dups: pa.Table, splits: pa.Table, work: Path) -> None:
    """Sorted by row id, in small row groups, so each pass-2 shard reads only its range."""
    for name, table in (("duplicates", dups), ("splits", splits)):
        table = table.take(pc.sort_indices(table["row_id"]))
        tmp = work / f"{name}.parquet.tmp"
        pq.write_table(table, tmp, row_group_size=65536)
        tmp.replace(work / f"{name}.parquet")


def read_range(path: Path, lo: int, hi: int) -> pa.Table:
    return pq.read_table(path, filters=[("row_id", ">=", lo), ("row_id", "<=", hi)])
