"""What two rows are compared on, and the exact-duplicate hash.

The text of a record is folded (case, whitespace) the same way for the exact hash and for the
MinHash shingles, so "exact" always means "equal after the folding the config asks for".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import xxhash

from forge.chat.conversation import Conversation
from forge.config.quality import DedupConfig

ROLES = ("system", "user", "assistant", "tool")

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer, vectorized: spreads every input bit over the whole word.

    numpy uint64 array arithmetic wraps modulo 2^64, which is what the finalizer wants.
    """
    x = np.asarray(x, dtype=np.uint64) + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def fold(text: str, cfg: DedupConfig) -> str:
    """The text as compared: case folded and whitespace collapsed when the config says so."""
    if cfg.lowercase:
        text = text.casefold()
    if cfg.normalize_whitespace:
        text = " ".join(text.split())
    return text


def _ascii_table(lowercase: bool) -> bytes:
    """bytes.translate table: ASCII whitespace (what str.split() splits on) to a space, and
    A-Z to a-z when folding case (an ASCII character's casefold() is its lower())."""
    table = bytearray(range(256))
    for c in range(128):
        if chr(c).isspace():
            table[c] = 32
        elif lowercase:
            table[c] = ord(chr(c).casefold())
    return bytes(table)


_ASCII_FOLD = {True: _ascii_table(True), False: _ascii_table(False)}


_SPACE_BMP: list[np.ndarray] = []


def _is_space(cp: np.ndarray) -> np.ndarray:
    """str.isspace() of each code point: a table over the Basic Multilingual Plane (no
    whitespace character lies above it), built once with the regex `\\s`, which is the same
    test."""
    if not _SPACE_BMP:
        table = np.zeros(0x10000, dtype=bool)
        bmp = "".join(map(chr, range(0x10000)))
        table[[m.start() for m in re.finditer(r"\s", bmp)]] = True
        _SPACE_BMP.append(table)
    return _SPACE_BMP[0][np.minimum(cp, 0xFFFF)]


def _collapse(units: np.ndarray, space: np.ndarray, lens: list[int]) -> tuple[np.ndarray, list]:
    """Texts back to back (units, with each whitespace unit already a space): every space
    that follows a space or starts a text dropped. Returns the units kept and each text's
    bounds in them (a text may still end with one space)."""
    starts = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=starts[1:])
    n = len(units)
    drop = np.empty_like(space)
    if n:
        drop[0] = True
        drop[1:] = space[:-1]
        drop[starts[:-1][starts[:-1] < n]] = True
        drop &= space
    dropped = np.flatnonzero(drop)  # few: runs of whitespace are rare in most text
    bounds = (starts - np.searchsorted(dropped, starts)).tolist()
    return (np.delete(units, dropped) if len(dropped) else units), bounds


def fold_all(texts: Sequence[str], cfg: DedupConfig) -> list[str]:
    """`[fold(t, cfg) for t in texts]`, with the texts folded together in numpy (the split and
    join of `fold` make an object per word: most of the key table's Python time).

    Whitespace folding is: every whitespace character a space, then every space that follows
    a space or starts the text dropped, and a last trailing space. ASCII texts are folded as
    bytes (case and whitespace by one byte map: an ASCII character's casefold() is its
    lower()), the others as code points after casefold()."""
    if not cfg.normalize_whitespace:
        return [fold(t, cfg) for t in texts]
    out: list[str] = [""] * len(texts)
    ascii_at: list[int] = []
    encoded: list[bytes] = []
    other_at: list[int] = []
    others: list[str] = []
    for i, t in enumerate(texts):
        if t.isascii():
            ascii_at.append(i)
            encoded.append(t.encode("ascii"))
        else:
            other_at.append(i)
            others.append(t.casefold() if cfg.lowercase else t)
    if encoded:
        a = np.frombuffer(b"".join(encoded).translate(_ASCII_FOLD[cfg.lowercase]), np.uint8)
        kept, bounds = _collapse(a, a == 32, [len(e) for e in encoded])
        data = kept.tobytes()
        for j, i in enumerate(ascii_at):
            b = data[bounds[j] : bounds[j + 1]]
            out[i] = (b[:-1] if b.endswith(b" ") else b).decode("ascii")
    if others:
        cp = np.frombuffer("".join(others).encode("utf-32-le", "surrogatepass"), "<u4")
        space = _is_space(cp)
        cp = cp.copy()
        cp[space] = 32
        kept, bounds = _collapse(cp, space, [len(t) for t in others])
        joined = kept.tobytes().decode("utf-32-le", "surrogatepass")
        for j, i in enumerate(other_at):
            t = joined[bounds[j] : bounds[j + 1]]
            out[i] = t[:-1] if t.endswith(" ") else t
    return out


def exact_hash(text: str, cfg: DedupConfig) -> int:
    """xxh3_64 of the folded text, as an unsigned 64-bit int (the key table's `exact_hash`)."""
    return folded_hash(fold(text, cfg))


def folded_hash(folded: str) -> int:
    """`exact_hash` of a text already folded."""
    return xxhash.xxh3_64_intdigest(folded.encode("utf-8", "surrogatepass"))


def content_text(record: Any, cfg: DedupConfig) -> str:
    """The text of a record that dedup compares, chosen by `cfg.fields`.

    Accepts a Conversation, a TextDoc, or a plain dict (`messages` / `text` / columns).
    Empty `fields`: every message as `role: content` (or the document text). Otherwise each
    named field in order: a role picks the contents of that role's messages, `text` the
    document text, any other name a meta column.
    """
    if not cfg.fields and type(record) is Conversation:
        # "\n".join(f"{role}: {content}"), as one join (no string per message)
        parts: list[str] = []
        for m in record.messages:
            parts += (m.role, ": ", m.content or "", "\n")
        return "".join(parts[:-1])
    if isinstance(record, dict):
        messages = record.get("messages")
        text = record.get("text")
        meta = record.get("meta") or record
    else:
        messages = getattr(record, "messages", None)
        text = getattr(record, "text", None)
        meta = getattr(record, "meta", None) or {}

    def msg(m: Any) -> tuple[str, str]:
        if isinstance(m, dict):
            return str(m.get("role", "")), str(m.get("content") or "")
        return m.role, m.content or ""

    if not cfg.fields:
        if messages is not None:
            return "\n".join(f"{r}: {c}" for r, c in map(msg, messages))
        return "" if text is None else str(text)
    parts: list[str] = []
    for f in cfg.fields:
        if f in ROLES and messages is not None:
            parts.extend(c for r, c in map(msg, messages) if r == f)
        elif f == "text" and text is not None:
            parts.append(str(text))
        elif f in meta and meta[f] is not None:
            parts.append(str(meta[f]))
    return "\n".join(parts)
