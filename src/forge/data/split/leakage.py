"""After dedup and split: does any exact or near duplicate pair cross two splits?

With dedup on, the answer should be no (a cluster keeps one row); the check is independent of
how dedup ran, so it also catches leaks when dedup is off or when a huge bucket was only
compared star-wise. Exact pairs share an `exact_hash`; near pairs are LSH candidates among
the kept rows whose estimated Jaccard reaches the dedup threshold.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from forge.config.quality import DedupConfig
from forge.data.dedup.lsh import (
    candidate_pairs,
    connect,
    iter_verified,
    parquet_list,
    sql_str,
    write_bands,
)
from forge.data.shardio import SCRATCH_PARQUET

_EXAMPLES = 10


def check_leakage(
    key_files: list[Path],
    splits: pa.Table,
    cfg: DedupConfig,
    workdir: Path,
    bands: Path | None = None,
) -> dict[str, Any]:
    """{"exact_pairs", "near_pairs", "examples": [{"a", "b", "split_a", "split_b", "kind",
    "similarity"}], "ok"} over the rows of `splits` (Table(row_id, split)).

    `bands`: what near dedup left with the same config (find_duplicates' `keep_bands`):
    its band files and signatures, which hold every row of `splits` that has a signature,
    and the buckets it compared star-wise. Only those buckets are searched, among the rows of
    `splits`: a bucket dedup compared all-pairs had every pair of its kept rows verified with
    the same threshold, and none passed (a pair that passes is one cluster, which keeps one
    row), so it cannot hold a near leak. The pairs verified are then the same as a search of
    every bucket of the kept rows alone finds, without reading the key tables' signatures
    and hashing the bands again."""
    key_files = [Path(f) for f in key_files]
    work = Path(workdir) / "leakage"
    out: dict[str, Any] = {"exact_pairs": 0, "near_pairs": 0, "examples": [], "ok": True}
    if not key_files or splits.num_rows == 0:
        return out
    s = splits.select(["row_id", "split"])
    con = connect(work, cfg, name="leakage")
    try:
        con.register("s", s)
        files = parquet_list(key_files)
        ex = con.sql(
            f"""
            WITH ks AS (SELECT row_id, exact_hash, split FROM read_parquet({files})
                        JOIN s USING (row_id) WHERE exact_hash IS NOT NULL),
            cross_pairs AS (
              SELECT x.row_id AS a, y.row_id AS b, x.split AS sa, y.split AS sb
              FROM ks x JOIN ks y ON x.exact_hash = y.exact_hash AND x.row_id < y.row_id
              WHERE x.split <> y.split)
            SELECT count(*) OVER () AS n, a, b, sa, sb FROM cross_pairs ORDER BY a, b
            LIMIT {_EXAMPLES}
            """
        ).fetchall()
        if ex:
            out["exact_pairs"] = int(ex[0][0])
            for _, a, b, sa, sb in ex:
                out["examples"].append(
                    {
                        "a": a,
                        "b": b,
                        "split_a": sa,
                        "split_b": sb,
                        "kind": "exact",
                        "similarity": 1.0,
                    }
                )
        if cfg.near:
            only = None
            reuse = bands is not None
            if reuse:
                # the kept rows, as a table of the database (a registered Arrow table would
                # be scanned again for every band)
                con.execute("CREATE OR REPLACE TABLE kept AS SELECT row_id FROM s")
                only = "kept"
            else:
                keep = np.sort(s.column("row_id").to_numpy(zero_copy_only=False).astype(np.int64))
                bands = write_bands(key_files, cfg, work / "bands", only=keep)
            if bands is not None:
                candidate_pairs(con, bands, cfg.max_bucket_pairs, only, only_large=reuse)
                vp = work / "verified.parquet"
                schema = pa.schema([("a", pa.int64()), ("b", pa.int64()), ("j", pa.float64())])
                # the verified pairs go to disk as they come: with dedup off there can be
                # millions, and only their count and a few examples are wanted
                with pq.ParquetWriter(vp, schema, **SCRATCH_PARQUET) as w:
                    for a, b, est in iter_verified(con, bands, cfg):
                        w.write_table(pa.table({"a": a, "b": b, "j": est}, schema=schema))
                # one join per statement (several hash tables at once ran out of memory
                # under a small limit); each step keeps only the pairs that cross splits
                con.execute(
                    f"CREATE TABLE vx AS SELECT p.a, p.b, p.j, x.split AS sa "
                    f"FROM read_parquet({sql_str(vp)}) p JOIN s x ON x.row_id = p.a"
                )
                con.execute(
                    "CREATE TABLE vxy AS SELECT vx.*, y.split AS sb FROM vx "
                    "JOIN s y ON y.row_id = vx.b WHERE vx.sa <> y.split"
                )
                con.execute(
                    f"CREATE TABLE vh AS SELECT vxy.*, h.exact_hash AS ha FROM vxy "
                    f"JOIN read_parquet({files}) h ON h.row_id = vxy.a"
                )
                # an exact pair is counted once, as exact
                cross = (
                    f"SELECT vh.a, vh.b, vh.sa, vh.sb, vh.j FROM vh "
                    f"JOIN read_parquet({files}) h ON h.row_id = vh.b "
                    f"WHERE vh.ha IS DISTINCT FROM h.exact_hash"
                )
                con.execute(f"CREATE TABLE cross_pairs AS {cross}")
                out["near_pairs"] = int(
                    con.sql("SELECT count(*) FROM cross_pairs").fetchall()[0][0]
                )
                rows = con.sql(
                    f"SELECT * FROM cross_pairs ORDER BY j DESC, a, b LIMIT {_EXAMPLES}"
                ).fetchall()
                for a_, b_, sa, sb, j in rows:
                    out["examples"].append(
                        {
                            "a": a_,
                            "b": b_,
                            "split_a": sa,
                            "split_b": sb,
                            "kind": "near",
                            "similarity": round(float(j), 4),
                        }
                    )
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)
    out["ok"] = out["exact_pairs"] == 0 and out["near_pairs"] == 0
    return out
