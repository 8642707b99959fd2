"""The small per-row keys pass 1 writes for the global step (dedup + split).

Key table columns (docs/prepared-data.md, interfaces): row_id int64, exact_hash uint64,
minhash fixed_size_list<uint32>[num_perm] (null when near-dedup is off), n_chars int64,
stratum string, timestamp int64 (epoch seconds UTC), group string.
The hashing itself belongs to forge.data.dedup; this module calls it and builds the table.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import xxhash

from forge.chat.conversation import Conversation
from forge.data.records import TextDoc

_TIME_FORMATS = (
    "%m/%d/%y %H:%M",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%y",
)


def dedup_text(rec: Conversation | TextDoc) -> str:
    """The content two rows must share to be duplicates: roles and texts, or the document."""
    if isinstance(rec, TextDoc):
        return rec.text
    return "\n".join(f"{m.role}: {m.content}" for m in rec.messages)


def parse_timestamp(v: Any) -> int | None:
    """Epoch seconds (UTC) from a number, ISO 8601, or common US/ISO date formats."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return int(v / 1000) if v > 1e11 else int(v)  # milliseconds are common too
    s = str(v).strip()
    if not s:
        return None
    try:
        t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        t = None
        for fmt in _TIME_FORMATS:
            try:
                t = dt.datetime.strptime(s, fmt)
                break
            except ValueError:
                continue
        if t is None:
            try:
                return int(float(s))
            except ValueError:
                return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return int(t.timestamp())


def split_columns(split_cfg: Any) -> dict[str, str | None]:
    """Which meta column feeds stratum / timestamp / group, whatever the split section calls it."""

    def first(*names: str) -> str | None:
        for n in names:
            v = getattr(split_cfg, n, None)
            if isinstance(v, str) and v:
                return v
        return None

    method = getattr(split_cfg, "method", "random")
    generic = first("column", "key", "by")
    return {
        "stratum": first("stratify_by", "stratum_column", "stratify")
        or (generic if method == "stratified" else None),
        "timestamp": first("timestamp_field", "timestamp_column", "time_column", "timestamp")
        or (generic if method == "temporal" else None),
        "group": first("group_by", "group_column", "group")
        or (generic if method == "grouped" else None),
    }


class KeyMaker:
    """Builds key tables; uses forge.data.dedup's hashers when they are there."""

    def __init__(self, dedup_cfg: Any, split_cfg: Any):
        self.dedup_cfg = dedup_cfg
        self.cols = split_columns(split_cfg)
        try:
            from forge.data import dedup as qd
        except ImportError:
            qd = None
        try:
            from forge.data.split import parse_timestamp as parse_ts
        except ImportError:
            parse_ts = parse_timestamp
        self._parse_ts = parse_ts
        self._exact = getattr(qd, "exact_hash", None)
        self._key_table = getattr(qd, "key_table", None)
        self._content = getattr(qd, "content_text", None)
        self._minhasher = None
        if qd is not None and getattr(dedup_cfg, "near", False) and hasattr(qd, "MinHasher"):
            self._minhasher = qd.MinHasher(dedup_cfg)

    def exact_hash(self, text: str) -> int:
        if self._exact is not None:
            return int(self._exact(text, self.dedup_cfg))
        return xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass"))

    def _split_keys(self, recs: list[Conversation | TextDoc]) -> dict[str, list]:
        out: dict[str, list] = {}
        for name in ("stratum", "timestamp", "group"):
            col = self.cols[name]
            vals = [r.meta.get(col) if col else None for r in recs]
            if name == "timestamp":
                out[name] = [self._parse_ts(v) for v in vals]
            else:
                out[name] = [None if v is None else str(v) for v in vals]
        return out

    def table(self, row_ids: list[int], recs: list[Conversation | TextDoc], n_chars: list[int]):
        if self._key_table is not None and self._content is not None:
            texts = [self._content(r, self.dedup_cfg) for r in recs]
            return self._key_table(
                row_ids, texts, self.dedup_cfg, **self._split_keys(recs), hasher=self._minhasher
            )
        texts = [dedup_text(r) for r in recs]
        cols: dict[str, Any] = {
            "row_id": pa.array(row_ids, pa.int64()),
            "exact_hash": pa.array([self.exact_hash(t) for t in texts], pa.uint64()),
        }
        if self._minhasher is not None:
            if texts:
                sig = np.ascontiguousarray(self._minhasher.signatures(texts), dtype=np.uint32)
            else:
                sig = np.zeros((0, int(getattr(self.dedup_cfg, "num_perm", 128))), np.uint32)
            flat = pa.array(sig.reshape(-1), pa.uint32())
            cols["minhash"] = pa.FixedSizeListArray.from_arrays(flat, sig.shape[1])
        else:
            cols["minhash"] = pa.nulls(len(texts), pa.list_(pa.uint32()))
        cols["n_chars"] = pa.array(n_chars, pa.int64())
        for name, vals in self._split_keys(recs).items():
            cols[name] = pa.array(vals, pa.int64() if name == "timestamp" else pa.string())
        return pa.table(cols)
