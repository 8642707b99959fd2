"""The global step between the passes: which rows are duplicates, which split each remaining
row goes to, and how many copies class balancing keeps. Only the key tables are read, never
the records; forge.data.dedup and forge.data.split do the work (out of core, through DuckDB).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from forge.data.shardio import SCRATCH_PARQUET

DUP_SCHEMA = pa.schema([("row_id", pa.int64()), ("dup_of", pa.int64()), ("kind", pa.string())])
SPLIT_SCHEMA = pa.schema([("row_id", pa.int64()), ("split", pa.string()), ("copies", pa.int32())])


def run_global(
    key_files: list[Path], pre: Any, work: Path
) -> tuple[pa.Table, pa.Table, dict[str, Any]]:
    """(duplicates, splits with a `copies` column, info for the manifest)."""
    from forge.data.dedup import find_duplicates
    from forge.data.split import assign_splits, balance, check_leakage
    from forge.heap import give_back

    work.mkdir(parents=True, exist_ok=True)
    # give_back() between the stages: what one freed goes to the system before the next
    # near dedup's band files, kept for the leakage check: the same config, a superset of
    # the rows it checks (every row but exact duplicates)
    bands = work / "bands" if pre.split.check_leakage else None
    dups = find_duplicates(key_files, pre.dedup, work, keep_bands=bands)
    give_back()
    splits = assign_splits(key_files, dups, pre.split, pre.seed, work)
    give_back()
    # balance() gives every row a copy count: 1 unless class balancing is on
    splits = balance(splits.select(["row_id", "split"]), key_files, pre.balance, pre.seed)
    give_back()
    info: dict[str, Any] = {
        "duplicates": {
            "exact": int(pc.sum(pc.equal(dups["kind"], "exact")).as_py() or 0),
            "near": int(pc.sum(pc.equal(dups["kind"], "near")).as_py() or 0),
        }
    }
    if pre.split.check_leakage:
        reuse = bands if bands is not None and bands.is_dir() else None
        info["leakage"] = check_leakage(key_files, splits, pre.dedup, work, reuse)
        give_back()
    if bands is not None:
        shutil.rmtree(bands, ignore_errors=True)
    splits = splits.select(["row_id", "split", "copies"]).cast(SPLIT_SCHEMA)
    dups = dups.select(["row_id", "dup_of", "kind"]).cast(DUP_SCHEMA)
    return dups, splits, info


MAX_DOUBLINGS = 6
"""How often the global step retries with twice DuckDB's memory (128MB -> 8GB by default)."""


def run_global_retrying(
    key_files: list[Path], pre: Any, work: Path, note: Any = None
) -> tuple[pa.Table, pa.Table, dict[str, Any]]:
    """run_global, again with twice the DuckDB memory when DuckDB runs out (a join or window
    over a few huge near-duplicate buckets cannot always spill). The decisions do not depend
    on the limit. Past the process limit's share, or MAX_DOUBLINGS, the error says what to set.
    """

    import duckdb

    from forge.data.memory import duckdb_limit, parse_size
    from forge.errors import ForgeError

    for attempt in range(MAX_DOUBLINGS + 1):
        try:
            return run_global(key_files, pre, work)
        except duckdb.OutOfMemoryException as e:
            shutil.rmtree(work, ignore_errors=True)
            now = max(parse_size(pre.dedup.memory_limit), parse_size(pre.split.memory_limit))
            bigger = 2 * now
            capped = duckdb_limit(f"{bigger}B") <= duckdb_limit(f"{now}B")
            if attempt == MAX_DOUBLINGS or capped:
                raise ForgeError(
                    f"the global step (dedup and splits) ran out of memory with DuckDB limited "
                    f"to {now >> 20} MiB: {str(e).splitlines()[0]}",
                    "raise preprocessing.dedup.memory_limit and preprocessing.split.memory_limit"
                    " (or the process's memory limit), or lower dedup.max_bucket_pairs",
                ) from None
            if note is not None:
                note(f"DuckDB ran out of {now >> 20} MiB; retrying with {bigger >> 20} MiB")
            limit = f"{bigger}B"
            pre = pre.model_copy(
                update={
                    "dedup": pre.dedup.model_copy(update={"memory_limit": limit}),
                    "split": pre.split.model_copy(update={"memory_limit": limit}),
                }
            )
    raise AssertionError("the loop returns or raises on its last attempt")


def write_decisions(dups: pa.Table, splits: pa.Table, work: Path) -> None:
    """Sorted by row id, in small row groups, so each pass-2 shard reads only its range."""
    for name, table in (("duplicates", dups), ("splits", splits)):
        table = table.take(pc.sort_indices(table["row_id"]))
        tmp = work / f"{name}.parquet.tmp"
        pq.write_table(table, tmp, row_group_size=65536, **SCRATCH_PARQUET)
        tmp.replace(work / f"{name}.parquet")


def read_range(path: Path, lo: int, hi: int) -> pa.Table:
    """The rows with lo <= row_id <= hi, in file order. Reads only the row groups whose
    row_id statistics overlap the range (write_decisions sorts by row id), not the whole file:
    at 2M rows a pass-2 shard otherwise decoded all of duplicates.parquet and splits.parquet."""
    pf = pq.ParquetFile(path, pre_buffer=False)
    col = pf.schema_arrow.get_field_index("row_id")
    groups = []
    for g in range(pf.metadata.num_row_groups):
        st = pf.metadata.row_group(g).column(col).statistics
        if st is not None and st.has_min_max and (st.max < lo or st.min > hi):
            continue
        groups.append(g)
    table = pf.read_row_groups(groups) if groups else pf.schema_arrow.empty_table()
    ids = table["row_id"]
    return table.filter(pc.and_(pc.greater_equal(ids, lo), pc.less_equal(ids, hi)))
