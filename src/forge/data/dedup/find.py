"""The global dedup step: which rows are duplicates of which, from the key tables alone.

Rule (deterministic for any number of workers and across runs): rows are grouped into
clusters, exact clusters by `exact_hash`, near clusters as connected components of verified
LSH pairs among the rows that survive exact dedup; each cluster keeps its lowest `row_id`
(the earliest row of the input) and every other row is removed with `dup_of` = the row that
was kept. `kind` says why a row went: "exact" (same folded content) or "near".
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa

from forge.config.quality import DedupConfig
from forge.data.dedup.components import Components
from forge.data.dedup.lsh import (
    candidate_pairs,
    connect,
    iter_verified,
    parquet_list,
    write_bands,
)
from forge.data.dedup.sigstore import SignatureStore
from forge.heap import give_back

SCHEMA = pa.schema([("row_id", pa.int64()), ("dup_of", pa.int64()), ("kind", pa.string())])


def _empty() -> pa.Table:
    return SCHEMA.empty_table()


def _exact(con, key_files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    files = parquet_list(key_files)
    res = con.sql(
        f"""
        WITH k AS (SELECT row_id, exact_hash FROM read_parquet({files})
                   WHERE exact_hash IS NOT NULL),
        g AS (SELECT exact_hash, min(row_id) AS keep FROM k GROUP BY exact_hash
              HAVING count(*) > 1)
        SELECT k.row_id, g.keep FROM k JOIN g USING (exact_hash)
        WHERE k.row_id <> g.keep ORDER BY k.row_id
        """
    ).fetchnumpy()
    return res["row_id"].astype(np.int64), res["keep"].astype(np.int64)


def find_duplicates(
    key_files: list[Path], cfg: DedupConfig, workdir: Path, keep_bands: Path | None = None
) -> pa.Table:
    """Rows to remove: Table(row_id int64, dup_of int64, kind "exact"|"near"), by row_id.

    Reads only the key tables (row_id, exact_hash, minhash); bucket tables and pairs live in
    DuckDB under `workdir` (spilling past `cfg.memory_limit`) and are deleted afterwards,
    except the LSH band files and signatures when `keep_bands` is given: they are moved there
    (for the leakage check, forge.data.split.check_leakage), when near dedup made them.
    """
    key_files = [Path(f) for f in key_files]
    if not key_files or not (cfg.exact or cfg.near):
        return _empty()
    work = Path(workdir) / "dedup"
    con = connect(work, cfg)
    # each stage's temporaries (query results, band batches, signature blocks) go back to
    # the system before the next one, so the peak is the largest stage, not their sum
    try:
        ex_ids = ex_keep = np.zeros(0, dtype=np.int64)
        if cfg.exact:
            ex_ids, ex_keep = _exact(con, key_files)
            give_back()
        nr_ids = nr_keep = np.zeros(0, dtype=np.int64)
        bands = None
        keep = keep_bands is not None
        if cfg.near:
            bands = write_bands(key_files, cfg, work / "bands", skip=ex_ids)
            give_back()
            if bands is not None:
                candidate_pairs(con, bands, cfg.max_bucket_pairs, record_large=keep)
                give_back()
                comp = Components(np.sort(SignatureStore(bands, cfg.num_perm).ids))
                for a, b, _ in iter_verified(con, bands, cfg):
                    comp.add(a, b)
                nr_ids, nr_keep = comp.removed()
                del comp
                give_back()
        if keep_bands is not None and bands is not None:
            shutil.rmtree(keep_bands, ignore_errors=True)
            bands.rename(keep_bands)
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)
    # An exact duplicate of a row that a near cluster removed points at that cluster's kept row,
    # so `dup_of` is always a row that stays.
    if len(nr_ids) and len(ex_keep):
        pos = np.searchsorted(nr_ids, ex_keep).clip(max=len(nr_ids) - 1)
        hit = nr_ids[pos] == ex_keep
        ex_keep = np.where(hit, nr_keep[pos], ex_keep)
    row_id = np.concatenate([ex_ids, nr_ids])
    dup_of = np.concatenate([ex_keep, nr_keep])
    kind = np.array(["exact"] * len(ex_ids) + ["near"] * len(nr_ids), dtype=object)
    order = np.argsort(row_id, kind="stable")
    return pa.table(
        {"row_id": row_id[order], "dup_of": dup_of[order], "kind": kind[order]}, schema=SCHEMA
    )
