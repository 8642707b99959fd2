"""Token ranges of byte-level BPE encodings from the token ids alone.

A byte-level BPE tokenizer cuts a text's UTF-8 bytes into tokens and keeps every byte: each
token stands for a fixed run of bytes. Adding up the tokens' byte lengths gives every token
boundary, so the labels need no offsets from the tokenizer. Computing offsets is about 12%
of the Rust tokenizer's time (`encode_batch` maps every byte to its character position in
a hash map); `encode_batch_fast` skips it.

A tokenizer qualifies when nothing between the text and the tokens adds, drops or changes a
byte:
- no normalizer;
- a ByteLevel pre-tokenizer with no prefix space, alone or after Split or Digits steps that
  keep every byte;
- a BPE model over the byte-level alphabet, with no subword prefix or suffix;
- added tokens matched as written (no lstrip or rstrip).

It must then give the same token ranges as its own offsets for every character boundary of
probe texts (forge.chat.encode._token_range on `encode_batch`). Each encoded row is checked
again: its lengths must add up to its text's bytes, and a row that fails takes the offsets.
"""

from __future__ import annotations

import json
from itertools import chain
from typing import Any

import numpy as np

_SPLITTERS = {"Split", "Digits"}


def byte_lengths(tokenizer: Any) -> np.ndarray | None:
    """The bytes of text each token id stands for (int64, by id), or None when encodings of
    this tokenizer (a `tokenizers.Tokenizer`) do not tile their text's bytes this way."""
    if not hasattr(tokenizer, "encode_batch_fast"):  # older versions of tokenizers
        return None
    spec = json.loads(tokenizer.to_str())
    if not _qualifies(spec):
        return None
    from tokenizers import pre_tokenizers

    alphabet = set(pre_tokenizers.ByteLevel.alphabet())
    vocab = tokenizer.get_vocab(with_added_tokens=False)
    added = tokenizer.get_added_tokens_decoder()
    if any(t.lstrip or t.rstrip for t in added.values()):
        return None
    plain = [t for t, i in vocab.items() if i not in added]
    if not set("".join(plain)) <= alphabet:
        return None
    size = max([*vocab.values(), *added.keys()], default=-1) + 1
    lengths = np.zeros(size, np.int64)
    for t, i in vocab.items():
        lengths[i] = len(t)  # one character of the alphabet per byte
    for i, t in added.items():
        lengths[i] = len(t.content.encode("utf-8"))
    if not _agrees_with_offsets(tokenizer, lengths, [t.content for t in added.values()]):
        return None
    return lengths


def _qualifies(spec: dict) -> bool:
    model = spec.get("model") or {}
    if model.get("type") != "BPE" or spec.get("normalizer") is not None:
        return False
    if model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"):
        return False
    pre = spec.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]
    levels = [s for s in steps if s.get("type") == "ByteLevel"]
    if len(levels) != 1 or levels[0].get("add_prefix_space"):
        return False
    return all(
        s.get("type") == "ByteLevel"
        or (s.get("type") in _SPLITTERS and s.get("behavior") != "Removed")
        for s in steps
    )


_PROBES = (
    "Hello, world! How are you today?",
    "  two  spaces,\ttabs\t\tand\nnew\n\nlines\r\n and trailing   ",
    "Ünïcödé: café, naïve, 日本語のテキスト, emoji 🙂👍🏽 and ∑ x² ≤ 10.",
    "digits 1234567890 3.14159 and code: def f(x): return x**2  # done",
    ' {"json": [1, 2, 3], "nested": {"k": "v"}}\n',
)


def _agrees_with_offsets(tokenizer: Any, lengths: np.ndarray, added: list[str]) -> bool:
    from forge.chat.encode import _token_range

    texts = list(_PROBES)
    for k in range(0, len(added), 8):  # each added token between and inside ordinary text
        texts.append("".join(f"a{t}x {t}{t}\n{t} é " for t in added[k : k + 8]))
    slow = tokenizer.encode_batch(texts, add_special_tokens=False)
    fast = tokenizer.encode_batch_fast(texts, add_special_tokens=False)
    ids = [e.ids for e in fast]
    if [e.ids for e in slow] != ids:
        return False
    for text, enc, row in zip(texts, slow, ids, strict=True):
        n = len(row)
        if max(row, default=-1) >= len(lengths):
            return False
        every = [(a, b) for a in range(len(text)) for b in (a + 1, len(text))]
        got = token_ranges([row], [text], [every], lengths)[0]
        if got is None or got != [_token_range(enc, n, a, b) for a, b in every]:
            return False
    return True


def token_ranges(
    ids: list[list[int]],
    texts: list[str],
    spans: list[list[tuple[int, int]]],
    lengths: np.ndarray,
) -> list[list[tuple[int, int]] | None]:
    """Per row, the token range (first, last + 1) of each character span [a, b) (b > a) of
    `spans`: the tokens holding any byte of it. None for a row whose tokens' byte lengths do
    not add up to its text's bytes. All rows are searched at once."""
    counts = np.fromiter(map(len, ids), np.int64, len(ids))
    first = np.zeros(len(ids) + 1, np.int64)
    np.cumsum(counts, out=first[1:])
    flat = np.fromiter(chain.from_iterable(ids), np.int64, int(first[-1]))
    bounds = np.zeros(len(flat) + 1, np.int64)  # byte where each token starts, then the end
    np.cumsum(lengths[flat], out=bounds[1:])
    base = bounds[first[:-1]]
    total = (bounds[first[1:]] - base).tolist()
    rows, starts, ends = [], [], []
    out: list[list[tuple[int, int]] | None] = []
    for k, (text, row_spans) in enumerate(zip(texts, spans, strict=True)):
        ascii_ = text.isascii()
        if (len(text) if ascii_ else _utf8_len(text)) != total[k]:
            out.append(None)
            continue
        out.append([])
        for a, b in row_spans:
            rows.append(k)
            # a few boundaries a row: the bytes before each, counted where they are needed
            starts.append(a if ascii_ else _utf8_len(text[:a]))
            ends.append(b if ascii_ else _utf8_len(text[:b]))
    if rows:
        r = np.asarray(rows, np.int64)
        at = base[r]
        # first token ending after the span's first byte; tokens starting before its end
        ta = np.searchsorted(bounds[1:], at + np.asarray(starts, np.int64), "right") - first[r]
        tb = np.searchsorted(bounds[:-1], at + np.asarray(ends, np.int64), "left") - first[r]
        for k, a, b in zip(rows, ta.tolist(), tb.tolist(), strict=True):
            out[k].append((a, b))  # type: ignore[union-attr]
    return out


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))
