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

from forge.config.quality import DedupConfig
from forge.data.dedup.lsh import (
    candidate_pairs,
    connect,
    parquet_list,
    verified_pairs,
    write_bands,
)

_EXAMPLES = 10


def check_leakage(
    key_files: list[Path], splits: pa.Table, cfg: DedupConfig, workdir: Path
) -> dict[str, Any]:
    """{"exact_pairs", "near_pairs", "examples": [{"a", "b", "split_a", "split_b", "kind",
    "similarity"}], "ok"} over the rows of `splits` (Table(row_id, split))."""
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
            keep = np.sort(s.column("row_id").to_numpy(zero_copy_only=False).astype(np.int64))
            bands = write_bands(key_files, cfg, work / "bands", only=keep)
            if bands is not None:
                candidate_pairs(con, bands, cfg.max_bucket_pairs)
                a, b, est = verified_pairs(con, key_files, cfg)
                if len(a):
                    con.register("vp", pa.table({"a": a, "b": b, "j": est}))
                    rows = con.sql(
                        f"""
                        WITH h AS (SELECT row_id, exact_hash FROM read_parquet({files}))
                        SELECT count(*) OVER () AS n, p.a, p.b, x.split, y.split, p.j
                        FROM vp p JOIN s x ON x.row_id = p.a JOIN s y ON y.row_id = p.b
                        JOIN h ha ON ha.row_id = p.a JOIN h hb ON hb.row_id = p.b
                        WHERE x.split <> y.split
                          -- an exact pair is counted once, as exact
                          AND ha.exact_hash IS DISTINCT FROM hb.exact_hash
                        ORDER BY p.j DESC, p.a, p.b
                        """
                    ).fetchall()
                    if rows:
                        out["near_pairs"] = int(rows[0][0])
                        for _, a_, b_, sa, sb, j in rows[:_EXAMPLES]:
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
