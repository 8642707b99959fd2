"""MinHash signatures on disk, read back a block at a time: what candidate verification needs.

Verifying a candidate pair takes both rows' signatures, and the pairs come in no useful
order, so they cannot be read from the key tables in a stream. Joining them in DuckDB held
about a kilobyte per pair in its hash tables and ran out of memory at 2M rows under a
128 MB limit; a memory map of them, read at random, mapped most of the file (the kernel
maps 64 KiB around every page it faults in). Here the signatures are one flat uint32 file
(n x num_perm, in the order they were written) cut into blocks of BLOCK_BYTES; the pairs,
as (position of a, position of b), are sorted by (block of a, block of b) in DuckDB, so each
step holds two blocks read with plain reads: memory is two blocks whatever the row count.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SIGS = "signatures.u32"
IDS = "signature-ids.npy"
BLOCK_BYTES = 16 << 20


class SignatureWriter:
    """Append (ids, signatures) batches; `close()` writes the ids in the order written."""

    def __init__(self, folder: Path, num_perm: int):
        self.folder = folder
        self._f = open(folder / SIGS, "wb")  # noqa: SIM115 (closed by close())
        self._ids: list[np.ndarray] = []

    def add(self, ids: np.ndarray, sig: np.ndarray) -> None:
        self._f.write(np.ascontiguousarray(sig, dtype=np.uint32).tobytes())
        self._ids.append(np.asarray(ids, dtype=np.int64))

    def close(self) -> None:
        self._f.close()
        ids = np.concatenate(self._ids) if self._ids else np.zeros(0, np.int64)
        np.save(self.folder / IDS, ids)
        self._ids = []


class SignatureStore:
    """Row ids by position (`ids`), and signature blocks (`block(i)`) of `block_rows` rows."""

    def __init__(self, folder: Path, num_perm: int):
        self.num_perm = num_perm
        self.ids = np.load(folder / IDS)
        self.block_rows = max(1, BLOCK_BYTES // (4 * num_perm))
        self._path = folder / SIGS
        self._cache: dict[int, np.ndarray] = {}

    def block(self, i: int) -> np.ndarray:
        """Signatures of positions [i * block_rows, (i + 1) * block_rows), (rows, num_perm)."""
        n = min(self.block_rows, len(self.ids) - i * self.block_rows)
        offset = i * self.block_rows * self.num_perm * 4
        flat = np.fromfile(self._path, np.uint32, count=n * self.num_perm, offset=offset)
        return flat.reshape(n, self.num_perm)

    def rows(self, pos: np.ndarray, keep: tuple[int, ...]) -> np.ndarray:
        """Signatures at positions `pos` (all in one block); blocks not in `keep` are let go."""
        i = int(pos[0]) // self.block_rows
        for k in [k for k in self._cache if k not in keep and k != i]:
            del self._cache[k]
        if i not in self._cache:
            self._cache[i] = self.block(i)
        return self._cache[i][pos - i * self.block_rows]
