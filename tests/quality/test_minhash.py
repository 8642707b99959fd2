from __future__ import annotations

import re

import numpy as np
import pytest

from forge.chat.conversation import Conversation, Message
from forge.config.quality import DedupConfig
from forge.data.dedup import MinHasher, content_text, estimated_jaccard, exact_hash


def word_shingles(text: str, n: int) -> set[str]:
    w = re.findall(r"\w+", text.casefold())
    if len(w) < n:
        return {" ".join(w)}
    return {" ".join(w[i : i + n]) for i in range(len(w) - n + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b)


TEXTS = [
    "The quick brown fox jumps over the lazy dog near the river bank today.",
    "The quick brown fox jumps over the lazy dog near the river bank tonight.",
    "Completely different words appear in this sentence about databases.",
    "",
    "hi",
    "Ünïcödé téxt wörks tôo, with äccents and 日本語 characters.",
]


def test_signatures_shape_dtype_and_independent_of_batch():
    m = MinHasher(DedupConfig())
    sig = m.signatures(TEXTS)
    assert sig.shape == (len(TEXTS), 128) and sig.dtype == np.uint32
    # The same text gets the same signature alone, in another order, or in another batch.
    assert (m.signatures(TEXTS[::-1])[::-1] == sig).all()
    for i, t in enumerate(TEXTS):
        assert (m.signatures([t])[0] == sig[i]).all()
    # A fresh hasher (another worker) with the same config agrees.
    assert (MinHasher(DedupConfig()).signatures(TEXTS) == sig).all()
    assert not (MinHasher(DedupConfig(seed=2)).signatures(TEXTS) == sig).all()


@pytest.mark.parametrize("ngram", ["word", "char"])
def test_estimate_tracks_exact_jaccard(shared_data, ngram):
    import json

    rows = json.loads((shared_data / "chat/alpaca_5000.json").read_text())
    base = [r["output"] for r in rows if len(r["output"].split()) > 60][:60]
    rng = np.random.default_rng(0)
    variants = []
    for t in base:
        w = t.split()
        k = int(rng.integers(1, len(w) // 3))
        for j in rng.choice(len(w), size=k, replace=False):
            w[j] = "zq" + str(j)
        variants.append(" ".join(w))
    cfg = DedupConfig(ngram=ngram, ngram_size=3 if ngram == "word" else 5, num_perm=256, bands=32)
    m = MinHasher(cfg)
    est = estimated_jaccard(m.signatures(base), m.signatures(variants))
    if ngram == "word":
        exact = np.array(
            [
                jaccard(word_shingles(a, 3), word_shingles(b, 3))
                for a, b in zip(base, variants, strict=True)
            ]
        )
    else:
        f = lambda s: {s[i : i + 5] for i in range(len(s) - 4)}  # noqa: E731
        exact = np.array(
            [
                jaccard(f(" ".join(a.casefold().split())), f(" ".join(b.casefold().split())))
                for a, b in zip(base, variants, strict=True)
            ]
        )
    # 256 permutations: standard error <= 0.032; the mean error is far smaller.
    assert np.abs(est - exact).max() < 0.15
    assert abs(float(np.mean(est - exact))) < 0.03


def test_exact_hash_folding():
    cfg = DedupConfig()
    assert exact_hash("Hello   World\n", cfg) == exact_hash("hello world", cfg)
    strict = DedupConfig(lowercase=False, normalize_whitespace=False)
    assert exact_hash("Hello World", strict) != exact_hash("hello world", strict)
    assert exact_hash("a  b", strict) != exact_hash("a b", strict)
    assert 0 <= exact_hash("x", cfg) < 2**64


def test_content_text_fields():
    conv = Conversation(
        [Message("system", "Be brief."), Message("user", "Hi?"), Message("assistant", "Hello.")],
        meta={"category": "greeting"},
    )
    assert content_text(conv, DedupConfig()) == "system: Be brief.\nuser: Hi?\nassistant: Hello."
    assert content_text(conv, DedupConfig(fields=["user"])) == "Hi?"
    assert content_text(conv, DedupConfig(fields=["assistant", "category"])) == "Hello.\ngreeting"
    assert content_text({"text": "doc"}, DedupConfig()) == "doc"


# -- signatures against the straightforward computation ------------------------------------
_MASK = (1 << 64) - 1


def _mix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _poly(values: list[int]) -> int:
    """sum of values[j] * BASE^j modulo 2^64: the polynomial hash MinHasher uses."""
    base, h, p = 0x9E3779B97F4A7C15 | 1, 0, 1
    for v in values:
        h = (h + v * p) & _MASK
        p = (p * base) & _MASK
    return h


def reference_signature(text: str, cfg: DedupConfig) -> np.ndarray:
    """One text's signature the slow, obvious way: tokens (words by `\\w+`, or code points),
    every n-token window hashed on its own, then per permutation the minimum."""
    from forge.data.dedup import fold

    if cfg.ngram == "word":
        words = re.findall(r"\w+", text.casefold() if cfg.lowercase else text)
        tokens = [_mix64(_poly([ord(c) for c in w])) for w in words]
    else:
        tokens = [ord(c) for c in fold(text, cfg)]
    n = cfg.ngram_size
    windows = [tokens[i : i + n] for i in range(len(tokens) - n + 1)] or [tokens]
    shingles = [_mix64(_poly(w) ^ (len(w) << 56)) if w else 0x51ED27C0FFEE1234 for w in windows]
    m = MinHasher(cfg)
    h = np.array(shingles, dtype=np.uint64)
    vals = m._a[:, None] * h[None, :] + m._b[:, None]  # wraps modulo 2^64
    return (vals.min(axis=1) >> np.uint64(32)).astype(np.uint32)


ODD_TEXTS = [
    "",
    " ",
    "___ a_b __init__",
    "ß Straße ΣΑΣ σς İstanbul ǅ ﬁ",
    "日本語のテキスト 123 ١٢٣ ½ ²",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚 emoji 😀 x",
    "lone \ud800 surrogate",
    "tab\tsep\u00a0nbsp\u2028line",
    "word " * 700,
]


@pytest.mark.parametrize(
    "cfg",
    [
        DedupConfig(),
        DedupConfig(lowercase=False),
        DedupConfig(ngram_size=1),
        DedupConfig(ngram="char", ngram_size=5),
    ],
    ids=["word3", "word3-case", "word1", "char5"],
)
def test_signatures_equal_the_straightforward_computation(shared_data, cfg):
    import json

    rows = json.loads((shared_data / "chat/alpaca_5000.json").read_text())
    texts = ODD_TEXTS + TEXTS + [r["instruction"] + "\n" + r["output"] for r in rows[:150]]
    sig = MinHasher(cfg).signatures(texts)
    for t, s in zip(texts, sig, strict=True):
        assert (s == reference_signature(t, cfg)).all(), t[:60]


def test_word_characters_are_the_regex_word_characters():
    from forge.data.dedup.minhash import _is_word

    every = np.arange(0x110000, dtype=np.uint64)
    text = "".join(map(chr, range(0x110000)))
    expected = np.zeros(0x110000, bool)
    for m in re.finditer(r"\w", text):
        expected[m.start()] = True
    assert (_is_word(every) == expected).all()
    flags = np.empty(0x110000, np.int8)
    _is_word(every.astype(np.uint32), out=flags)
    assert (flags.view(bool) == expected).all()


@pytest.mark.parametrize("cfg", [DedupConfig(), DedupConfig(ngram="char", ngram_size=5)])
def test_key_table_hashes_equal_the_plain_functions(cfg):
    from forge.data.dedup import exact_hash, key_table
    from forge.data.dedup.keys import signatures

    texts = ODD_TEXTS + TEXTS + ["  Mixed   CASE\n\nand\twhitespace  "]
    table = key_table(list(range(len(texts))), texts, cfg)
    assert table["exact_hash"].to_pylist() == [exact_hash(t, cfg) for t in texts]
    sig = signatures(table["minhash"])
    assert table["minhash"].type.byte_width == 4 * cfg.num_perm
    for t, s in zip(texts, sig, strict=True):
        assert (s == reference_signature(t, cfg)).all(), t[:60]
    # a reused hasher (its work arrays kept from earlier batches) gives the same signatures
    m = MinHasher(cfg)
    m.signatures(["long text " * 30000, "x"])
    assert (m.signatures(texts) == sig).all()


@pytest.mark.parametrize(
    "cfg",
    [DedupConfig(), DedupConfig(lowercase=False), DedupConfig(normalize_whitespace=False)],
    ids=["fold", "case-kept", "spaces-kept"],
)
def test_fold_all_equals_fold(cfg):
    import random

    from forge.data.dedup.hashing import fold, fold_all

    pieces = [" ", "  ", "\n", "\t", "\r\n", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0",
              "\u3000", "A", "b", "Z9_", "ß", "İ", "Σ", "word", "WORD", "\x00", "\x7f", ""]  # fmt: skip
    rng = random.Random(7)
    texts = ["", " ", "   ", "a", " a ", "\n\nA  b\t\tC\n", "", "x"] + ODD_TEXTS + TEXTS
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randrange(12))) for _ in range(3000)]
    assert fold_all(texts, cfg) == [fold(t, cfg) for t in texts]
    for i in range(0, 40):
        assert fold_all(texts[i : i + 3], cfg) == [fold(t, cfg) for t in texts[i : i + 3]]
    assert fold_all([], cfg) == []


def test_space_characters_are_str_isspace():
    from forge.data.dedup.hashing import _is_space

    every = np.arange(0x110000, dtype=np.uint32)
    expected = np.array([chr(c).isspace() for c in range(0x110000)])
    assert (_is_space(every) == expected).all()


def test_signature_column_round_trips_and_its_width_is_checked(tmp_path):
    import pyarrow.parquet as pq

    from forge.data.dedup import key_table
    from forge.data.dedup.keys import signature_array, signatures
    from forge.data.dedup.lsh import iter_signatures
    from forge.errors import ForgeError

    sig = np.random.default_rng(1).integers(0, 2**32, size=(50, 16), dtype=np.uint32)
    col = signature_array(sig)
    assert (signatures(col) == sig).all()
    assert (signatures(col.slice(7, 20)) == sig[7:27]).all()  # an offset into the buffer
    small = DedupConfig(num_perm=16, bands=8, rows=2)
    table = key_table(list(range(3)), ["a b c", "d e f", "g h i"], small)
    pq.write_table(table, tmp_path / "keys.parquet")
    ((ids, got, _),) = list(iter_signatures([tmp_path / "keys.parquet"], 16))
    assert ids.tolist() == [0, 1, 2] and (got == signatures(table["minhash"])).all()
    with pytest.raises(ForgeError, match="another dedup config"):
        list(iter_signatures([tmp_path / "keys.parquet"], 128))
