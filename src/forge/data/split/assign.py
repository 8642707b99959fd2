"""Split assignment from the key tables: random, stratified, temporal, grouped.

The keys of the rows that survived dedup are streamed into a DuckDB file under the work
folder (with a seeded per-row random number from splitmix64, the same in every run and on
every machine), and every decision is a query over it, so memory stays bounded by DuckDB's
limit. Rules (docs/quality.md):

- random / stratified: each split gets its largest-remainder share of N, so it is within one
  row of ratio x N; inside each stratum (random = one stratum) each split is within one row
  of ratio x n_stratum too. Rows are taken in seeded random order.
- temporal: rows sorted by time; train, then validation, then test. Rows with the same
  timestamp never straddle a cut (strict order), so the cut moves to the nearest tie boundary.
- grouped: whole groups in seeded random order fill test, then validation, then train; a group
  goes where its middle row falls. A row without a group is a group of its own.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from forge.config.quality import DedupConfig, SplitConfig
from forge.data.dedup.hashing import mix64
from forge.data.dedup.lsh import connect, iter_batches, sql_str
from forge.data.shardio import SCRATCH_PARQUET
from forge.errors import ForgeError

SPLITS = ("train", "validation", "test")
SCHEMA = pa.schema([("row_id", pa.int64()), ("split", pa.string())])


def as_id_array(ids: Any) -> np.ndarray:
    """Sorted unique int64 row ids from a set, a sequence, an array or a Table with row_id."""
    if ids is None:
        return np.zeros(0, dtype=np.int64)
    if isinstance(ids, (pa.Table, pa.RecordBatch)):
        arr = ids.column("row_id").to_numpy(zero_copy_only=False)
    elif isinstance(ids, np.ndarray):
        arr = ids
    else:
        arr = np.fromiter(ids, dtype=np.int64)
    return np.unique(arr.astype(np.int64))


def seeded_random(row_ids: np.ndarray, seed: int, salt: int = 0) -> np.ndarray:
    """A reproducible uniform uint64 per row id (splitmix64 of id xor a seed-derived key)."""
    key = mix64(np.array([seed * 1_000_003 + salt], dtype=np.uint64))[0]
    return mix64(row_ids.astype(np.uint64) ^ key)


def targets(n: int, ratios: np.ndarray) -> np.ndarray:
    """Largest-remainder apportionment of n among the ratios (sums to n; each within 1)."""
    q = n * ratios
    f = np.floor(q + 1e-9).astype(np.int64)
    left = n - int(f.sum())
    order = np.lexsort((np.arange(len(q)), -(q - f)))
    f[order[:left]] += 1
    return f


def allocate(counts: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """(strata, splits) row counts: rows sum to each stratum's count, columns to the overall
    apportionment, and every cell within one row of ratio x stratum count."""
    q = counts[:, None] * ratios[None, :]
    alloc = np.floor(q + 1e-9).astype(np.int64)
    need_col = targets(int(counts.sum()), ratios) - alloc.sum(axis=0)
    need_row = counts - alloc.sum(axis=1)
    frac = q - alloc
    # Each stratum hands its leftover rows to the splits that still need the most (ties: the
    # larger fractional part): the Gale-Ryser greedy, which succeeds whenever a 0/1 fill
    # with these row and column sums exists.
    for s in np.argsort(-need_row, kind="stable"):
        free = np.ones(len(ratios), dtype=bool)  # a split gets at most one extra row
        for _ in range(int(need_row[s])):
            cand = np.flatnonzero(free)
            k = int(cand[np.lexsort((-frac[s, cand], -need_col[cand]))[0]])
            alloc[s, k] += 1
            need_col[k] -= 1
            free[k] = False
    return alloc


def _ratios(cfg: SplitConfig) -> np.ndarray:
    return np.array([1.0 - cfg.validation - cfg.test, cfg.validation, cfg.test])


def _stage_keys(
    key_files: list[Path], removed: np.ndarray, seed: int, out: Path, grouped: bool
) -> int:
    """Stream the surviving rows' split keys (plus seeded randoms) into Parquet under out."""
    out.mkdir(parents=True, exist_ok=True)
    part = n = 0
    for batch in iter_batches(key_files, ["row_id", "stratum", "timestamp", "group"]):
        cols = batch.schema.names
        ids = batch.column("row_id").to_numpy(zero_copy_only=False).astype(np.int64)
        if len(removed):
            pos = np.searchsorted(removed, ids).clip(max=len(removed) - 1)
            keep = removed[pos] != ids
            batch, ids = batch.filter(pa.array(keep)), ids[keep]
        if len(ids) == 0:
            continue
        rnd = seeded_random(ids, seed)
        cols_out = {
            "row_id": ids,
            "rnd": rnd.view(np.int64),
            "stratum": (
                batch.column("stratum").cast(pa.string())
                if "stratum" in cols
                else pa.nulls(len(ids), pa.string())
            ),
            "ts": (
                batch.column("timestamp").cast(pa.int64())
                if "timestamp" in cols
                else pa.nulls(len(ids), pa.int64())
            ),
        }
        if grouped:
            groups = batch.column("group").to_pylist() if "group" in cols else [None] * len(ids)
            # A group's random rank comes from its name, so all its rows agree on it; a row
            # without a group is a group of its own (a name no real value can take).
            gseed = seed & 0xFFFFFFFFFFFFFFFF
            cols_out["grp"] = pa.array(
                [g if g is not None else f"\x00row:{i}" for g, i in zip(groups, ids, strict=True)],
                pa.string(),
            )
            cols_out["grnd"] = np.array(
                [
                    xxhash.xxh3_64_intdigest(g.encode("utf-8", "surrogatepass"), seed=gseed)
                    if g is not None
                    else int(r)
                    for g, r in zip(groups, rnd, strict=True)
                ],
                dtype=np.uint64,
            ).view(np.int64)
        pq.write_table(pa.table(cols_out), out / f"part-{part:06d}.parquet", **SCRATCH_PARQUET)
        part += 1
        n += len(ids)
    return n


def _by_rank(con, ratios: np.ndarray, stratified: bool) -> pa.Table:
    skey = "coalesce(stratum, '')" if stratified else "''"
    counts = con.sql(f"SELECT {skey} AS s, count(*) AS n FROM k GROUP BY s ORDER BY s").fetchnumpy()
    alloc = allocate(counts["n"].astype(np.int64), ratios)
    con.register("plan", pa.table({"s": counts["s"], "n_test": alloc[:, 2], "n_val": alloc[:, 1]}))
    return con.sql(
        f"""
        SELECT row_id, CASE WHEN pos <= n_test THEN 'test'
                            WHEN pos <= n_test + n_val THEN 'validation'
                            ELSE 'train' END AS split
        FROM (SELECT row_id, {skey} AS s,
                     row_number() OVER (PARTITION BY {skey} ORDER BY rnd, row_id) AS pos
              FROM k) JOIN plan USING (s)
        ORDER BY row_id
        """
    ).to_arrow_table()


def _cut(cum: np.ndarray, target: float, low: int) -> int:
    """The tie boundary (a value of cum, or 0) nearest to target, not below low."""
    cand = np.concatenate(([0], cum))
    cand = cand[cand >= low]
    return int(cand[np.argmin(np.abs(cand - target))])


def _temporal(con, ratios: np.ndarray, n: int) -> pa.Table:
    missing = con.sql("SELECT count(*) FROM k WHERE ts IS NULL").fetchall()[0][0]
    if missing:
        raise ForgeError(
            f"temporal split: {missing} of {n} rows have no readable timestamp",
            "check preprocessing.split.timestamp_field, or filter rows without a time",
        )
    g = con.sql("SELECT ts, count(*) AS n FROM k GROUP BY ts ORDER BY ts").fetchnumpy()
    cum = np.cumsum(g["n"].astype(np.int64))
    t = targets(n, ratios)
    b1 = _cut(cum, t[0], 0)
    b2 = _cut(cum, t[0] + t[1], b1)
    split = np.where(cum <= b1, "train", np.where(cum <= b2, "validation", "test"))
    con.register("plan", pa.table({"ts": g["ts"], "split": split.astype(object)}))
    return con.sql(
        "SELECT row_id, split FROM k JOIN plan USING (ts) ORDER BY row_id"
    ).to_arrow_table()


def _grouped(con, ratios: np.ndarray, n: int) -> pa.Table:
    g = con.sql(
        "SELECT grp, count(*) AS n, min(grnd) AS r FROM k GROUP BY grp ORDER BY r, grp"
    ).fetchnumpy()
    cnt = g["n"].astype(np.int64)
    mid = np.cumsum(cnt) - cnt / 2.0
    t = targets(n, ratios)
    split = np.where(mid <= t[2], "test", np.where(mid <= t[2] + t[1], "validation", "train"))
    con.register("plan", pa.table({"grp": g["grp"], "split": split.astype(object)}))
    return con.sql(
        "SELECT row_id, split FROM k JOIN plan USING (grp) ORDER BY row_id"
    ).to_arrow_table()


def assign_splits(
    key_files: list[Path], removed: Any, cfg: SplitConfig, seed: int, workdir: Path
) -> pa.Table:
    """Table(row_id int64, split string) for every key-table row not in `removed`, by row_id.

    `removed`: the row ids dedup (or anything else) took out: a set, a sequence, an array,
    or a Table with a `row_id` column (e.g. the result of `find_duplicates`).
    """
    key_files = [Path(f) for f in key_files]
    if not key_files:
        return SCHEMA.empty_table()
    work = Path(workdir) / "split"
    if work.exists():
        shutil.rmtree(work)
    n = _stage_keys(key_files, as_id_array(removed), seed, work / "keys", cfg.method == "grouped")
    if n == 0:
        shutil.rmtree(work, ignore_errors=True)
        return SCHEMA.empty_table()
    con = connect(work, DedupConfig(memory_limit=cfg.memory_limit), name="split")
    try:
        con.execute(f"CREATE TABLE k AS SELECT * FROM read_parquet({sql_str(work / 'keys' / '*')})")
        ratios = _ratios(cfg)
        if cfg.method == "temporal":
            out = _temporal(con, ratios, n)
        elif cfg.method == "grouped":
            out = _grouped(con, ratios, n)
        else:
            out = _by_rank(con, ratios, stratified=cfg.method == "stratified")
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)
    return out.cast(SCHEMA)
