"""Connected components of near-duplicate pairs, fed a batch of pairs at a time.

Union-find over the rows that have a signature (sorted row ids), vectorized with numpy: one
parent index per row (int32), always pointing at a lower index, so the root of a component
is its lowest row id, the row dedup keeps. Memory is 12 bytes per row (its id and its
parent) and one batch of pairs; the pairs themselves (5M verified at 2M rows of the
benchmark's chats) are never held at once.
"""

from __future__ import annotations

import numpy as np


class Components:
    def __init__(self, row_ids: np.ndarray):
        """`row_ids`: every row an edge may name, sorted ascending."""
        self.ids = np.asarray(row_ids, dtype=np.int64)
        # int32 indices (4 bytes a row less than int64) unless there are 2^31 rows or more
        dtype = np.int32 if len(self.ids) < 2**31 else np.int64
        self.parent = np.arange(len(self.ids), dtype=dtype)

    def _roots(self, x: np.ndarray) -> np.ndarray:
        r = self.parent[x]
        while True:
            rr = self.parent[r]
            if np.array_equal(rr, r):
                return r
            r = rr

    def add(self, a: np.ndarray, b: np.ndarray) -> None:
        """Join the rows of each pair (a[i], b[i]) (row ids)."""
        if len(a) == 0:
            return
        u = np.searchsorted(self.ids, a).astype(self.parent.dtype)
        v = np.searchsorted(self.ids, b).astype(self.parent.dtype)
        while True:
            ru, rv = self._roots(u), self._roots(v)
            diff = ru != rv
            if not diff.any():
                break
            lo = np.minimum(ru[diff], rv[diff])
            hi = np.maximum(ru[diff], rv[diff])
            # a root may be joined to several lower roots at once: it takes the lowest, and
            # the other pairs are joined on the next round
            np.minimum.at(self.parent, hi, lo)
        # shorten the paths just walked, so later finds stay short
        self.parent[u] = ru
        self.parent[v] = rv

    def removed(self) -> tuple[np.ndarray, np.ndarray]:
        """(row ids that are not the lowest of their component, sorted; the lowest one)."""
        p = self.parent
        while True:
            pp = p[p]
            if np.array_equal(pp, p):
                break
            p = pp
        self.parent = p
        gone = np.flatnonzero(p != np.arange(len(p), dtype=p.dtype))
        return self.ids[gone], self.ids[p[gone]]
