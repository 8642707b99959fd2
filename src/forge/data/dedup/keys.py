"""The pass-1 key table: what the global steps need to know about each row, and nothing more.

Columns (docs/prepared-data.md, interfaces): `row_id` int64, `exact_hash` uint64, `minhash`
fixed_size_list<uint32>[num_perm] (null when near dedup is off), `n_chars` int64, and the
optional split keys `stratum` string, `timestamp` int64 (epoch seconds, UTC), `group` string.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from forge.config.quality import DedupConfig
from forge.data.dedup.hashing import fold_all, folded_hash
from forge.data.dedup.minhash import MinHasher


def key_schema(num_perm: int) -> pa.Schema:
    return pa.schema(
        [
            ("row_id", pa.int64()),
            ("exact_hash", pa.uint64()),
            ("minhash", pa.list_(pa.uint32(), num_perm)),
            ("n_chars", pa.int64()),
            ("stratum", pa.string()),
            ("timestamp", pa.int64()),
            ("group", pa.string()),
        ]
    )


def row_id(source_index: int, record_index: int) -> int:
    """`(source_file_index << 40) | record_index_in_file`: earlier input, lower id."""
    return (source_index << 40) | record_index


def key_table(
    row_ids: Sequence[int],
    texts: Sequence[str],
    cfg: DedupConfig,
    stratum: Sequence[str | None] | None = None,
    timestamp: Sequence[int | None] | None = None,
    group: Sequence[str | None] | None = None,
    hasher: MinHasher | None = None,
) -> pa.Table:
    """Build one shard's key table from the dedup texts (see `content_text`) of its rows."""
    n = len(texts)
    ids = np.asarray(row_ids, dtype=np.int64)
    # Each text is folded once, for its exact hash (`exact_hash`) and for its shingles.
    folded = fold_all(texts, cfg)
    hashes = pa.array([folded_hash(f) for f in folded], type=pa.uint64())
    if cfg.near:
        sig = (hasher or MinHasher(cfg)).signatures_folded(folded)
        minhash = pa.FixedSizeListArray.from_arrays(pa.array(sig.reshape(-1)), cfg.num_perm)
    else:
        minhash = pa.nulls(n, pa.list_(pa.uint32(), cfg.num_perm))
    cols = {
        "row_id": pa.array(ids),
        "exact_hash": hashes,
        "minhash": minhash,
        "n_chars": pa.array([len(t) for t in texts], type=pa.int64()),
        "stratum": pa.array(list(stratum) if stratum is not None else [None] * n, pa.string()),
        "timestamp": pa.array(list(timestamp) if timestamp is not None else [None] * n, pa.int64()),
        "group": pa.array(list(group) if group is not None else [None] * n, pa.string()),
    }
    return pa.table(cols, schema=key_schema(cfg.num_perm))
