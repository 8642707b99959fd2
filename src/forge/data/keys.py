"""The small per-row keys pass 1 writes for the global step (dedup + split).

Key table columns (docs/prepared-data.md, interfaces): row_id int64, exact_hash uint64,
minhash fixed_size_list<uint32>[num_perm] (null when near-dedup is off), n_chars int64,
stratum string, timestamp int64 (epoch seconds UTC), group string. The content compared and
the hashing belong to forge.data.dedup; the split keys come from the records' meta columns
named in `preprocessing.split`.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from forge.chat.conversation import Conversation
from forge.data.dedup import MinHasher, content_text, key_table
from forge.data.records import TextDoc
from forge.data.split import parse_timestamp


class KeyMaker:
    """Builds a shard's key tables; the MinHasher is made once per shard."""

    def __init__(self, dedup_cfg: Any, split_cfg: Any):
        self.dedup_cfg = dedup_cfg
        self.cols = {
            "stratum": split_cfg.stratify_by,
            "timestamp": split_cfg.timestamp_field,
            "group": split_cfg.group_by,
        }
        self.hasher = MinHasher(dedup_cfg) if dedup_cfg.near else None

    def table(self, row_ids: list[int], recs: list[Conversation | TextDoc]) -> pa.Table:
        keys: dict[str, list] = {}
        for name, col in self.cols.items():
            vals = [r.meta.get(col) if col else None for r in recs]
            if name == "timestamp":
                keys[name] = [parse_timestamp(v) for v in vals]
            else:
                keys[name] = [None if v is None else str(v) for v in vals]
        texts = [content_text(r, self.dedup_cfg) for r in recs]
        return key_table(row_ids, texts, self.dedup_cfg, **keys, hasher=self.hasher)
