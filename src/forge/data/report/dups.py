"""The rows dedup removed, as read from rejected.jsonl, in numeric columns.

A removed row was a dict per row (row id, kept row, kind, source: about 450 bytes with its
own copy of the file path); at 2M input rows with 574k removed that was 260 MB of the
report's memory. Here a removed row is 25 bytes: its row id, the row it duplicates, whether
it was a near duplicate, and where its line starts in rejected.jsonl, from which the few
rows the report shows are read again for their sources.
"""

from __future__ import annotations

import heapq
from array import array
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from forge.data.report.common import CLUSTERS
from forge.data.report.stats import EXAMPLES, distribution, snippet

_ODD_BASE = -(2**63)
"""Values that are not plain ids (None, or a string in an edited file) get codes from here
up, below every row id forge writes, and are decoded back when shown."""


class _Ids:
    """An int64 column of row ids; any other JSON value is kept aside under a code."""

    def __init__(self) -> None:
        self.values = array("q")
        self._code: dict[bytes, int] = {}
        self._odd: dict[int, Any] = {}

    def add(self, v: Any) -> None:
        if type(v) is int and _ODD_BASE + (1 << 32) <= v < 2**63:
            self.values.append(v)
            return
        key = orjson.dumps(v, option=orjson.OPT_SORT_KEYS)
        code = self._code.get(key)
        if code is None:
            code = self._code[key] = _ODD_BASE + len(self._code)
            self._odd[code] = v
        self.values.append(code)

    def numpy(self) -> np.ndarray:
        return np.frombuffer(self.values, dtype=np.int64) if self.values else np.zeros(0, np.int64)

    def decode(self, code: int) -> Any:
        return self._odd.get(code, code) if code < _ODD_BASE + (1 << 32) else code


class Dups:
    """The dedup rows of rejected.jsonl: row id, kept row (`dup_of`), near or exact, and the
    byte offset of each one's line."""

    def __init__(self, path: Path):
        self.path = path
        self.row_id = _Ids()
        self.dup_of = _Ids()
        self.near = array("b")
        self.offset = array("q")

    def add(self, row_id: Any, dup_of: Any, near: bool, offset: int) -> None:
        self.row_id.add(row_id)
        self.dup_of.add(dup_of)
        self.near.append(near)
        self.offset.append(offset)

    def __len__(self) -> int:
        return len(self.offset)

    def sources(self, positions: list[int]) -> list[Any]:
        """The `source` of the rows at these positions, read again from the file."""
        out = []
        with open(self.path, "rb") as f:
            for p in positions:
                f.seek(self.offset[p])
                out.append(orjson.loads(f.readline()).get("source"))
        return out


class Clusters:
    """The removed rows grouped by the row they duplicate: every cluster's size, and the
    CLUSTERS largest (ties by the kept id as text) with their removed rows in file order."""

    def __init__(self, dups: Dups):
        self.dups = dups
        codes = dups.dup_of.numpy()
        uniq, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
        self.counts = counts
        if len(counts) > CLUSTERS:
            kth = np.partition(counts, len(counts) - CLUSTERS)[len(counts) - CLUSTERS]
            cand = np.flatnonzero(counts >= kth).tolist()
        else:
            cand = list(range(len(counts)))
        best = heapq.nsmallest(
            CLUSTERS, cand, key=lambda i: (-int(counts[i]), str(dups.dup_of.decode(int(uniq[i]))))
        )
        # (kept row id, positions of its removed rows in file order), largest first
        self.top: list[tuple[Any, np.ndarray]] = [
            (dups.dup_of.decode(int(uniq[i])), np.flatnonzero(inverse == i)) for i in best
        ]

    def kept_ids(self) -> set[str]:
        return {str(k) for k, _ in self.top}


def summary(
    dups: Dups, clusters: Clusters, seen: int, texts_by_id: dict[str, Any]
) -> dict[str, Any]:
    """The report's `duplicates` entry (counts, rates, largest clusters, cluster sizes)."""
    near = int(np.frombuffer(dups.near, dtype=np.int8).sum()) if len(dups) else 0
    exact = len(dups) - near
    rid = dups.row_id.numpy()
    out = []
    for kept, pos in clusters.top:
        text = texts_by_id.get(str(kept))
        shown = pos[:EXAMPLES].tolist()
        out.append(
            {
                "kept": {
                    "row_id": str(kept),
                    "text": snippet(text) if text is not None else None,
                    "source": None,
                },
                "size": 1 + len(pos),
                "removed": [
                    {
                        "source": src,
                        "row_id": str(dups.row_id.decode(int(rid[p]))),
                        "kind": "near" if dups.near[p] else "exact",
                    }
                    for p, src in zip(shown, dups.sources(shown), strict=True)
                ],
            }
        )
    return {
        "rows": seen,
        "exact": exact,
        "near": near,
        "exact_rate": round(exact / seen, 4),
        "near_rate": round(near / seen, 4),
        "clusters": out,
        "cluster_sizes": distribution(1 + clusters.counts),
    }
