"""MinHash signatures for many texts at once, vectorized with numpy.

A batch of texts becomes one array of tokens (Unicode code points, or word hashes), every
n-gram window is hashed with a polynomial rolling hash computed from prefix sums (no Python
loop per shingle), and the num_perm permutations are multiply-shift hashes applied to a whole
block of shingles as one matrix, reduced to per-document minima with `np.minimum.reduceat`.

Signatures depend only on the text, the config and the seed: the same on any worker, in any
batch, in any run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from forge.config.quality import DedupConfig
from forge.data.dedup.hashing import fold_all, mix64

# Base of the polynomial hash: any odd constant is invertible modulo 2^64.
_BASE = 0x9E3779B97F4A7C15 | 1
_BASE_INV = pow(_BASE, -1, 1 << 64)
_EMPTY = np.uint64(0x51ED27C0FFEE1234)
# Shingles hashed per block: 8k shingles x 128 permutations x 8 bytes = 8 MB, which stays in
# the processor's caches between the multiply and the reduction (32k blocks were 25% slower).
_BLOCK = 1 << 13
# Code points per batch before the prefix arrays are built: a batch's temporaries (tokens,
# prefix sums, window starts, lengths, hashes) take ~60 bytes per code point besides the
# block above, so 256k keeps a worker's MinHash memory near 50 MB (2M took 140 MB).
# Signatures do not depend on it.
_BATCH_CHARS = 1 << 18


def _compute_powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    p = np.full(n + 1, _BASE, dtype=np.uint64)
    p[0] = 1
    q = np.full(n + 1, _BASE_INV, dtype=np.uint64)
    q[0] = 1
    return np.cumprod(p, dtype=np.uint64), np.cumprod(q, dtype=np.uint64)


# The powers are the same for every batch: computed once, on first use, up to a batch's size
# with room for the separators between its documents and for case folding that lengthens
# them (4.5 MB), and sliced, instead of two cumprods over millions of values per batch.
_POWERS: list[tuple[np.ndarray, np.ndarray]] = []
_POWERS_KEPT = _BATCH_CHARS + (_BATCH_CHARS >> 3)


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """BASE^j and BASE^-j for j in [0, n], modulo 2^64 (cumprod wraps)."""
    if n > _POWERS_KEPT:  # one very long document: not worth keeping
        return _compute_powers(n)
    if not _POWERS:
        _POWERS.append(_compute_powers(_POWERS_KEPT))
    p, q = _POWERS[0]
    return p[: n + 1], q[: n + 1]


def _window_hashes(
    tokens: np.ndarray, offsets: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Hash every n-token window inside each document.

    tokens: uint64, documents back to back; offsets: (D+1,) start of each document.
    A document shorter than n is one shingle (all its tokens); an empty one a fixed shingle,
    so every document has at least one. Returns (hashes, shingle offsets (D+1,)).
    """
    total = len(tokens)
    pw, inv = _powers(total)
    prefix = np.zeros(total + 1, dtype=np.uint64)
    np.cumsum(tokens * pw[:total], dtype=np.uint64, out=prefix[1:])
    k = np.diff(offsets)
    m = np.maximum(k - n + 1, 1)
    soff = np.zeros(len(k) + 1, dtype=np.int64)
    np.cumsum(m, out=soff[1:])
    doc = np.repeat(np.arange(len(k)), m)
    start = offsets[:-1][doc] + (np.arange(soff[-1]) - soff[:-1][doc])
    length = np.minimum(k[doc], n)
    h = (prefix[start + length] - prefix[start]) * inv[start]
    # Mixing in the length keeps a short document distinct from a window of a longer one.
    h = mix64(h ^ (length.astype(np.uint64) << np.uint64(56)))
    h[length == 0] = _EMPTY
    return h, soff


def _codepoints(text: str) -> np.ndarray:
    return _codepoints32(text).astype(np.uint64)


def _codepoints32(text: str) -> np.ndarray:
    """The code points as uint32, a view of the encoded bytes (no copy); products with the
    uint64 powers are uint64 all the same."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


_BMP_WORD: list[np.ndarray] = []


def _is_word(cp: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Which code points are word characters as the regex `\\w` of a str pattern sees them
    (str.isalnum() of the character, or `_`): a lookup table over the Basic Multilingual
    Plane, built once, and `isalnum` for each distinct code point above it.

    `out`, when given, is an int8 array of len(cp) that receives the flags (0/1) and is
    returned; otherwise a new bool array is."""
    if not _BMP_WORD:
        _BMP_WORD.append(
            np.fromiter((chr(c).isalnum() or c == 95 for c in range(0x10000)), bool, 0x10000)
        )
    table = _BMP_WORD[0]
    if out is None:
        out = table[np.minimum(cp, 0xFFFF)]
    else:
        np.take(table.view(np.int8), np.minimum(cp, 0xFFFF, dtype=np.uint32), out=out)
    if cp.max(initial=0) > 0xFFFF:
        big = np.flatnonzero(cp > 0xFFFF)
        values, inverse = np.unique(cp[big], return_inverse=True)
        word = np.fromiter((chr(int(v)).isalnum() for v in values), bool, len(values))
        out[big] = word[inverse]
    return out


class MinHasher:
    """`MinHasher(cfg).signatures(texts) -> (len(texts), num_perm) uint32`."""

    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg
        rng = np.random.default_rng(cfg.seed)
        hi = np.iinfo(np.uint64).max
        self._a = rng.integers(1, hi, size=cfg.num_perm, dtype=np.uint64, endpoint=True) | 1
        self._b = rng.integers(0, hi, size=cfg.num_perm, dtype=np.uint64, endpoint=True)
        # Work arrays kept from batch to batch: a fresh multi-megabyte array costs a page
        # fault per 4 KB page on first touch, which is a large share of a batch's time.
        self._work: dict[str, np.ndarray] = {}

    def _scratch(self, name: str, n: int, dtype: type) -> np.ndarray:
        """An uninitialized work array of n items, reused by later batches when it is no
        bigger than a usual batch needs (one huge document does not stay in memory)."""
        buf = self._work.get(name)
        if buf is not None and len(buf) >= n:
            return buf[:n]
        if n > _POWERS_KEPT + 1:
            return np.empty(n, dtype=dtype)
        buf = np.empty(_POWERS_KEPT + 1, dtype=dtype)
        self._work[name] = buf
        return buf[:n]

    # -- shingles --------------------------------------------------------------------------
    def _char_tokens(self, folded: list[str]) -> tuple[np.ndarray, np.ndarray]:
        offsets = np.zeros(len(folded) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in folded], out=offsets[1:])
        return _codepoints("".join(folded)), offsets

    def _word_tokens(self, folded: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Word hashes: the runs of word characters (`\\w+`) of each doc, each hashed from
        code-point prefixes (a run's hash does not depend on where it starts).

        The docs are the texts folded by `fold`: case folded when the config says so. Its
        whitespace folding changes no run of word characters (no whitespace character is a
        word character), so the runs are those of the case-folded text."""
        big = " ".join(folded)  # a space is no word character: runs never cross documents
        cp = _codepoints32(big)
        n = len(cp)
        if n == 0:
            return np.zeros(0, dtype=np.uint64), np.zeros(len(folded) + 1, dtype=np.int64)
        # Run edges: where the word flag changes between neighbours (a non-word character
        # stands before the text and after it). Kept in int8/bool: np.diff with a prepended
        # scalar would widen the whole array to int64.
        flag = self._scratch("flag", n + 1, np.int8)
        flag[0] = 0
        _is_word(cp, out=flag[1:])
        change = self._scratch("change", n + 1, np.bool_)
        np.not_equal(flag[1:], flag[:-1], out=change[:-1])
        change[-1] = flag[-1] != 0
        edges = np.flatnonzero(change)
        starts, ends = edges[0::2], edges[1::2]  # runs are [start, end)
        pw, inv = _powers(n)
        prefix = self._scratch("prefix", n + 1, np.uint64)
        prefix[0] = 0
        np.multiply(pw[:n], cp, out=prefix[1:])
        np.cumsum(prefix[1:], dtype=np.uint64, out=prefix[1:])
        wh = mix64((prefix[ends] - prefix[starts]) * inv[starts])
        # Document d spans [dstart[d], dstart[d] + len(docs[d])) in `big`.
        lens = np.fromiter((len(d) for d in folded), np.int64, len(folded))
        dstart = np.zeros(len(folded), dtype=np.int64)
        np.cumsum(lens[:-1] + 1, out=dstart[1:])
        woff = np.searchsorted(starts, np.append(dstart, n + 1))
        return wh, woff.astype(np.int64)

    def shingles(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(shingle hashes uint64, offsets (len(texts)+1,)): every document has >= 1 shingle."""
        return self._shingles(fold_all(texts, self.cfg))

    def _shingles(self, folded: list[str]) -> tuple[np.ndarray, np.ndarray]:
        if self.cfg.ngram == "char":
            tokens, offsets = self._char_tokens(folded)
        else:
            tokens, offsets = self._word_tokens(folded)
        return _window_hashes(tokens, offsets, self.cfg.ngram_size)

    # -- signatures ------------------------------------------------------------------------
    def _sign_batch(self, folded: list[str]) -> np.ndarray:
        sh, soff = self._shingles(folded)
        d = len(folded)
        sig = np.empty((d, self.cfg.num_perm), dtype=np.uint32)
        a, b = self._a[:, None], self._b[:, None]
        # one block's products, reused (by the next batches too): a fresh 8 MB array per
        # block costs its page faults
        buf = self._work.get("block")
        if buf is None:
            buf = np.empty((self.cfg.num_perm, _BLOCK), dtype=np.uint64)
            self._work["block"] = buf
        d0 = 0
        while d0 < d:
            d1 = int(np.searchsorted(soff, soff[d0] + _BLOCK, side="right")) - 1
            d1 = min(max(d1, d0 + 1), d)
            block = sh[None, soff[d0] : soff[d1]]
            # Multiply-shift hashing: the top 32 bits of a*x+b (mod 2^64) per permutation.
            # Laid out (num_perm, shingles) so each reduction runs over contiguous memory
            # (4x faster than the transpose); the top bits of a minimum are the minimum of
            # the top bits, so the shift is taken after the reduction, on the small result.
            w = block.shape[1]
            h = np.multiply(a, block, out=buf[:, :w]) if w <= buf.shape[1] else a * block
            h += b
            low = np.minimum.reduceat(h, soff[d0:d1] - soff[d0], axis=1)
            sig[d0:d1] = (low.T >> np.uint64(32)).astype(np.uint32)
            d0 = d1
        return sig

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """MinHash signatures, (len(texts), num_perm) uint32."""
        return self.signatures_folded(fold_all(texts, self.cfg))

    def signatures_folded(self, folded: Sequence[str]) -> np.ndarray:
        """`signatures` of texts already passed through `fold` with this config (the key
        table folds each text once, for its exact hash and for these)."""
        folded = list(folded)
        out = np.empty((len(folded), self.cfg.num_perm), dtype=np.uint32)
        i = 0
        while i < len(folded):
            j, chars = i, 0
            while j < len(folded) and (j == i or chars + len(folded[j]) <= _BATCH_CHARS):
                chars += len(folded[j])
                j += 1
            out[i:j] = self._sign_batch(folded[i:j])
            i = j
        return out


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of equal MinHash values, row by row: an unbiased estimate of Jaccard similarity."""
    return (np.asarray(a) == np.asarray(b)).mean(axis=-1)
