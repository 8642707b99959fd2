"""The measurements a quality report is made of: distributions, language, encoding problems,
per-field presence, conversation shape. Pure functions and small accumulators."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import cache
from typing import Any

import numpy as np

EXAMPLES = 3
SNIPPET = 160


def snippet(text: Any, n: int = SNIPPET) -> str:
    s = text if isinstance(text, str) else repr(text)
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def distribution(values: Iterable[float], bins: int = 24) -> dict[str, Any]:
    """count, min, mean, percentiles, max, and a histogram (linear bins up to the 99th
    percentile; the last bin holds everything above it, so outliers do not flatten it)."""
    v = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    if v.size == 0:
        return {"count": 0}
    p = np.percentile(v, [50, 90, 95, 99])
    lo, top = float(v.min()), float(max(p[3], v.min() + 1))
    edges = np.linspace(lo, top, bins + 1)
    counts, _ = np.histogram(np.clip(v, lo, top), bins=edges)
    return {
        "count": int(v.size),
        "min": float(v.min()),
        "mean": round(float(v.mean()), 2),
        "p50": float(p[0]),
        "p90": float(p[1]),
        "p95": float(p[2]),
        "p99": float(p[3]),
        "max": float(v.max()),
        "histogram": {"edges": [round(float(e), 2) for e in edges], "counts": counts.tolist()},
    }


# -- language --------------------------------------------------------------------------------
_STOPWORDS = {
    "en": "the and of to is in that it you for with this are be on not have as was what a i by "
    "from can your my we or an at do how",
    "es": "el la de que y en los se del las por un para con una es no su al lo como",
    "fr": "le la les de des et est un une du que en pour pas qui dans sur au il vous",
    "de": "der die und das ist nicht ein eine zu den mit von sich auf für ich es im dem",
    "it": "il di che la è per una non sono del della le con si gli ma come nel",
    "pt": "o de que e do da em um para é com não uma os no se na por mais dos ao pelo",
    "nl": "de het een en van is dat niet op te zijn met voor er ik je die in aan",
}
_LANGS_OF: dict[str, tuple[str, ...]] = {}
for _lang, _words in _STOPWORDS.items():
    for _w in _words.split():
        _LANGS_OF[_w] = (*_LANGS_OF.get(_w, ()), _lang)
_WORD = re.compile(r"\w+")
_SAMPLE = 2000  # the characters of a text its language is guessed from
_ASCII_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))
# ASCII text: `\w+` words are the runs of [0-9A-Za-z_], and casefold is lower; words as bytes,
# split in C (every other byte becomes a space), looked up in the ASCII stopwords
_WORD_BYTES = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
_ASCII_WORDS = bytes(c if c in _WORD_BYTES else 32 for c in range(256))
_LANGS_OF_BYTES = {w.encode(): langs for w, langs in _LANGS_OF.items() if w.isascii()}
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_SCRIPTS = (
    ("CJK", "zh"),
    ("HIRAGANA", "ja"),
    ("KATAKANA", "ja"),
    ("HANGUL", "ko"),
    ("CYRILLIC", "cyrillic"),
    ("GREEK", "el"),
    ("ARABIC", "ar"),
    ("HEBREW", "he"),
    ("DEVANAGARI", "hi"),
    ("THAI", "th"),
)


def language(text: str) -> str:
    """A light guess: the dominant script, then stopwords for Latin-script text.

    Returns an ISO 639-1 code (en, es, fr, de, it, pt, nl, zh, ja, ko, el, ar, he, hi, th),
    `cyrillic`, `latin-other`, or `unknown` (no letters).
    """
    sample = text[:_SAMPLE]
    raw = sample.encode("utf-8", "surrogatepass")
    # ASCII letters: what deleting them takes away (bytes.translate is a C loop; non-ASCII
    # characters encode to bytes >= 0x80, never deleted)
    latin = len(raw) - len(raw.translate(None, _ASCII_LETTERS))
    if sample.isascii():  # the common case: Latin letters or none, no script to count
        return (
            _latin_language(raw.lower().translate(_ASCII_WORDS).split(), _LANGS_OF_BYTES)
            if latin
            else "unknown"
        )
    scripts: Counter[str] = Counter()
    scripts["LATIN"] = latin
    # only the non-ASCII characters need a Unicode name
    for ch in _NON_ASCII.findall(sample):
        if not ch.isalpha():
            continue
        if ord(ch) < 0x250:
            scripts["LATIN"] += 1
            continue
        name = unicodedata.name(ch, "")
        for key, code in _SCRIPTS:
            if key in name:
                scripts[code] += 1
                break
        else:
            scripts["LATIN" if "LATIN" in name else "other"] += 1
    scripts = +scripts  # drop zero counts
    if not scripts:
        return "unknown"
    top, _ = scripts.most_common(1)[0]
    if top == "zh" and scripts["ja"]:
        return "ja"
    if top != "LATIN":
        return "unknown" if top == "other" else top
    return _latin_language(_WORD.findall(sample.casefold()), _LANGS_OF)


# -- language of many texts at once ----------------------------------------------------------
# Most texts are ASCII, or ASCII plus characters that are no part of a word (quotes, dashes,
# bullets, degree signs) or Latin letters below U+0250: for those, language() is the stopword
# vote over the words of the case-folded sample, and `languages` finds those words for a whole
# batch with numpy, without a Python object per word. Each non-ASCII character becomes one
# byte first (see _char_code). A text it cannot vouch for (another script, a letter whose case
# folding is not one character, a tie between languages that only first-seen order settles)
# goes to language() itself.
_LANG_NAMES = tuple(_STOPWORDS)  # column order of the vote counts; "en" first
# the non-ASCII letters of stopwords, each as one byte from 0x80; 0x84: any other non-ASCII
# letter, 0x85: any other non-ASCII word character that is no letter (digits such as "²")
_STOP_LETTERS = {ch: chr(0x80 + k) for k, ch in enumerate("èéüã")}
_OTHER_LETTER, _OTHER_WORD = "\x84", "\x85"
assert {ch for w in _LANGS_OF for ch in w if not ch.isascii()} <= set(_STOP_LETTERS)


def _stop_bytes(word: str) -> bytes:
    return "".join(_STOP_LETTERS.get(ch, ch) for ch in word).encode("latin-1")


_STOP_BYTES = {_stop_bytes(w): langs for w, langs in _LANGS_OF.items()}
assert max(len(w) for w in _STOP_BYTES) <= 8  # a stopword fits the integer of a word


def _word_code(word: bytes) -> int:
    """A word as the integer of its first 8 bytes, little-endian; no byte of a word is 0, so
    different words of up to 8 bytes differ, and no longer word equals a stopword's."""
    return int.from_bytes(word[:8], "little")


_STOPS = sorted(_STOP_BYTES, key=_word_code)
_STOP_LANGS = np.array([[lang in _STOP_BYTES[w] for w in _STOPS] for lang in _LANG_NAMES])
# a collision-free multiplicative hash of the stopword codes: slot -> stopword number + 1 (0:
# no stopword) and the code it holds
_HASH_BITS = 12


def _stop_hash() -> tuple[np.uint64, np.ndarray, np.ndarray]:
    codes = np.array([_word_code(w) for w in _STOPS], np.uint64)
    mult = 0x9E3779B97F4A7C15
    while True:
        slots = (codes * np.uint64(mult)) >> np.uint64(64 - _HASH_BITS)
        if len(np.unique(slots)) == len(codes):
            break
        mult = (mult + 0x5851F42D4C957F2E) % 2**64 | 1
    number, code = np.zeros(1 << _HASH_BITS, np.int64), np.zeros(1 << _HASH_BITS, np.uint64)
    number[slots.astype(np.int64)] = np.arange(1, len(codes) + 1)
    code[slots.astype(np.int64)] = codes
    return np.uint64(mult), number, code


_HASH_MULT, _HASH_NUMBER, _HASH_CODE = _stop_hash()
_LOW_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [2**64 - 1], np.uint64)
# the buffer's bytes: ASCII word characters (lower case) and the non-ASCII ones of _char_code
# stay, every other byte becomes a space
_VOTE_BYTES = bytes(c if c in _WORD_BYTES or 0x80 <= c <= 0x85 else 32 for c in range(256))
_CHAR_CODE: dict[str, str | None] = {}


def _char_code(ch: str) -> str | None:
    """The one character a non-ASCII character stands for in the vote's buffer, or None when
    the vote cannot take it. `?` (no word character): neither it nor its case folding is a
    `\\w` character (U+0345 folds to a Greek letter); a letter below U+0250 (a Latin one, which
    the script count adds to the Latin letters) or a word character that is no letter: its case
    folding, when that is one character of the same kind, as an ASCII letter, a stopword's
    letter, or _OTHER_LETTER / _OTHER_WORD."""
    if ch in _CHAR_CODE:
        return _CHAR_CODE[ch]
    fold = ch.casefold()
    code: str | None = None
    if not _WORD.search(ch):
        code = None if _WORD.search(fold) else "?"
    elif len(fold) == 1 and _WORD.match(fold) and fold.isalpha() == ch.isalpha():
        if ch.isalpha():
            if ord(ch) < 0x250:
                code = fold if fold.isascii() else _STOP_LETTERS.get(fold, _OTHER_LETTER)
        elif not fold.isascii() and fold not in _STOP_LETTERS:
            code = _OTHER_WORD
    _CHAR_CODE[ch] = code
    return code


def _c1_first(pair: tuple[str, Any]) -> bool:
    return pair[0] > _OTHER_WORD


def languages(texts: list[str]) -> list[str]:
    """language() of each text (exactly the same guesses), computed for a batch at once."""
    out: list[str | None] = [None] * len(texts)
    batch: list[bytes] = []
    where: list[int] = []
    for i, text in enumerate(texts):
        sample = text[:_SAMPLE]
        if sample.isascii():
            batch.append(sample.encode())
        else:
            chars = set(_NON_ASCII.findall(sample))
            codes = [_char_code(ch) for ch in chars]
            if None in codes:
                out[i] = language(text)
                continue
            if all(c == "?" for c in codes):
                batch.append(sample.encode("ascii", "replace"))  # "?" for each character
            else:
                # U+0080..U+0085 first (separators): later codes would be taken for them
                for ch, code in sorted(zip(chars, codes, strict=True), key=_c1_first):
                    sample = sample.replace(ch, code)  # type: ignore[arg-type]
                batch.append(sample.encode("latin-1"))
        where.append(i)
    for lo in range(0, len(batch), _VOTE_CHUNK):
        votes = _vote_many(batch[lo : lo + _VOTE_CHUNK])
        for i, lang in zip(where[lo : lo + _VOTE_CHUNK], votes, strict=True):
            out[i] = lang if lang is not None else language(texts[i])
    return out  # type: ignore[return-value]


_VOTE_CHUNK = 1024  # samples per numpy pass: a few MB of buffers


def _vote_many(samples: list[bytes]) -> list[str | None]:
    """The guess for each sample (one byte per character, see _char_code): `unknown` without
    letters, else the stopword vote; None where a tie needs first-seen order (the caller asks
    language())."""
    n = len(samples)
    # one buffer, lower case, every byte that is no word character a space; a space before
    # each sample ends the words of the one before
    buf = (b" " + b" ".join(samples)).lower().translate(_VOTE_BYTES) + b" " * 8
    a = np.frombuffer(buf, np.uint8)
    word = a != 32
    edges = np.flatnonzero(word[1:] != word[:-1]) + 1  # word starts and ends, alternating
    starts, length = edges[0::2], edges[1::2] - edges[0::2]
    first = np.empty(n, np.int64)  # where each sample starts in the buffer
    first[0] = 1
    np.cumsum(np.fromiter((len(s) + 1 for s in samples[:-1]), np.int64, n - 1), out=first[1:])
    first[1:] += 1
    words = np.diff(np.searchsorted(starts, first), append=len(starts))
    # the bytes from the space before each sample to the end of its last byte: a letter among
    # them (a word byte from "a" up but _OTHER_WORD; below "a" are the digits and "_")
    letters = np.logical_or.reduceat((a >= 97) & (a != ord(_OTHER_WORD)), first - 1)
    sample_of = np.repeat(np.arange(n), words)
    # each word as an integer (the 8 bytes read at its start, cut to its length), looked up
    # among the stopwords
    eight = np.ndarray((len(a) - 7,), "<u8", buf, strides=(1,))
    code = eight[starts] & _LOW_BYTES[np.minimum(length, 8)]
    slot = ((code * _HASH_MULT) >> np.uint64(64 - _HASH_BITS)).astype(np.intp)
    hit = np.flatnonzero(_HASH_CODE[slot] == code)
    stop = _HASH_NUMBER[slot[hit]] - 1
    # stopwords per sample, then per language (a product with the stopword -> language table)
    of = sample_of[hit]
    hits = np.stack(
        [np.bincount(of[_STOP_LANGS[lang][stop]], minlength=n) for lang in range(len(_LANG_NAMES))],
        1,
    )
    best = hits.max(axis=1)
    ok = (best >= 2) & (best >= 0.05 * words)  # language()'s threshold, in the same floats
    winners = (hits == best[:, None]).sum(axis=1)
    en = hits[:, 0] == best  # "en" wins its ties
    top = hits.argmax(axis=1)
    res: list[str | None] = []
    for has, good, is_en, wins, t in zip(
        letters.tolist(), ok.tolist(), en.tolist(), winners.tolist(), top.tolist(), strict=True
    ):
        if not has:
            res.append("unknown")  # no script counted (ASCII or separators only)
        elif not good:
            res.append("latin-other")
        elif is_en:
            res.append("en")
        elif wins == 1:
            res.append(_LANG_NAMES[t])
        else:
            res.append(None)
    return res


def _latin_language(words: list, langs_of: dict) -> str:
    """The stopword vote over a Latin-script text's words (str, or bytes for ASCII text)."""
    hits: Counter[str] = Counter()
    # the stopwords counted in C, then each distinct one visited once, in first-seen order
    # (ties in `hits` go to the language seen first, as a word-by-word count would give them)
    for w, n in Counter([w for w in words if w in langs_of]).items():
        for lang in langs_of[w]:
            hits[lang] += n
    if not hits:
        return "latin-other"
    best, n = max(hits.items(), key=lambda kv: (kv[1], kv[0] == "en"))
    return best if n >= 2 and n >= 0.05 * len(words) else "latin-other"


# -- encoding -----------------------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# every byte but the control characters (NUL included): deleting them leaves a text's control
# characters, in one C pass over its UTF-8 (where bytes below 0x80 are ASCII characters only)
_NOT_CONTROL = bytes(c for c in range(256) if not _CONTROL.match(chr(c)) and c != 0)


def any_control_chars(texts: list[str]) -> bool:
    """Whether any of the texts holds a control character or NUL (encoding_problems would
    report it), in one pass over all of them."""
    utf8 = b"".join([t.encode("utf-8", "surrogatepass") for t in texts])
    return bool(utf8.translate(None, _NOT_CONTROL))


def encoding_problems(text: str) -> list[str]:
    """Problem codes found in one text: mojibake (ftfy would repair it), replacement_char
    (U+FFFD: bytes were lost before forge saw them), control_chars, nul_byte."""
    found = []
    control = text.encode("utf-8", "surrogatepass").translate(None, _NOT_CONTROL)
    if control:
        if 0 in control:
            found.append("nul_byte")
        if control.count(0) < len(control):  # a control character besides NUL
            found.append("control_chars")
    if text.isascii():
        return found
    if "\ufffd" in text:
        found.append("replacement_char")
    if _maybe_mojibake(text):
        import ftfy

        # fix_encoding only: quotes, ligatures and widths are not encoding problems.
        if ftfy.fix_encoding(text) != text:
            found.append("mojibake")
    return found


def _maybe_mojibake(text: str) -> bool:
    """Cheap pre-check before ftfy, exact: ftfy's fix_encoding returns a text unchanged unless
    its badness pattern matches it, and every match holds a non-ASCII character (checked on
    the pattern itself, see `_badness_width`), so only short windows around the non-ASCII
    characters are searched, not the whole text."""
    if text.isascii():
        return False
    found = _badness()
    if found is None:
        return True
    bad, width = found
    n = len(text)
    lo = hi = -1
    for m in _NON_ASCII.finditer(text):
        p = m.start()
        if p - width <= hi:  # overlaps the current window: extend it
            hi = min(n, p + width + 1)
            continue
        if hi >= 0 and bad.search(text, lo, hi):
            return True
        lo, hi = max(0, p - width), min(n, p + width + 1)
    return hi >= 0 and bad.search(text, lo, hi) is not None


@cache
def _badness() -> tuple[re.Pattern, int] | None:
    """(ftfy's badness pattern, its longest match) when every alternative of the pattern needs
    a non-ASCII character; None (search the whole text) for a pattern this cannot vouch for."""
    try:
        from ftfy.badness import BADNESS_RE
    except ImportError:
        return None
    width = _badness_width(BADNESS_RE)
    return None if width is None else (BADNESS_RE, width)


def _badness_width(pattern: re.Pattern) -> int | None:
    try:
        import re._parser as sre  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_parse as sre  # type: ignore[no-redef]
    try:
        tree = sre.parse(pattern.pattern, pattern.flags)
    except Exception:  # noqa: BLE001 - an unknown pattern shape: no shortcut
        return None
    width = tree.getwidth()[1]
    items = list(tree)
    if width > 64 or len(items) != 1 or items[0][0] != sre.BRANCH:
        return None

    def non_ascii(op: Any, av: Any) -> bool:
        """One mandatory character that can only be non-ASCII."""
        if op == sre.LITERAL:
            return av >= 128
        if op == sre.IN:
            return all(
                (o == sre.LITERAL and a >= 128) or (o == sre.RANGE and a[0] >= 128) for o, a in av
            )
        return False

    for alt in items[0][1][1]:
        if not any(non_ascii(op, av) for op, av in alt):
            return None
    return width


# -- fields ----------------------------------------------------------------------------------
def is_empty(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return not v.strip()
    if isinstance(v, (list, dict, tuple)):
        return len(v) == 0
    return False


class FieldStats:
    """Per top-level field: rows present, missing (absent or null), empty, lengths.

    A field counts as missing only in rows of the files where it appears at all, so
    inspecting two files with different columns does not call every column half missing.
    """

    def __init__(self) -> None:
        self.rows = 0
        self.file_rows: Counter[str] = Counter()
        self.files_of: dict[str, set[str]] = {}
        self.present: Counter[str] = Counter()
        self.missing_null: Counter[str] = Counter()
        self.empty: Counter[str] = Counter()
        self.lengths: dict[str, list[int]] = {}
        self.units: dict[str, str] = {}
        self.examples: dict[str, list[dict[str, Any]]] = {}

    def add(self, obj: Any, where: Any = None) -> None:
        self.rows += 1
        file = str(where[0]) if isinstance(where, (list, tuple)) and where else ""
        self.file_rows[file] += 1
        if not isinstance(obj, dict):
            return
        for k, v in obj.items():
            self.files_of.setdefault(k, set()).add(file)
            if v is None:
                self.missing_null[k] += 1
                self._example(f"missing:{k}", where, obj)
                continue
            self.present[k] += 1
            if is_empty(v):
                self.empty[k] += 1
                self._example(f"empty:{k}", where, obj)
            if isinstance(v, (str, list)):
                self.lengths.setdefault(k, []).append(len(v))
                self.units.setdefault(k, "chars" if isinstance(v, str) else "items")

    def _example(self, key: str, where: Any, obj: Any) -> None:
        ex = self.examples.setdefault(key, [])
        if len(ex) < EXAMPLES:
            ex.append({"source": where, "row": snippet(obj)})

    def summary(self) -> dict[str, Any]:
        fields = set(self.present) | set(self.missing_null)
        out = {}
        for k in sorted(fields, key=lambda f: (-self.present[f], f)):
            rows = sum(self.file_rows[f] for f in self.files_of.get(k, ()))
            missing = rows - self.present[k]
            out[k] = {
                "rows": rows,
                "present": self.present[k],
                "missing": missing,
                "missing_rate": round(missing / rows, 4) if rows else 0.0,
                "empty": self.empty[k],
                "empty_rate": round(self.empty[k] / rows, 4) if rows else 0.0,
                "length": distribution(self.lengths.get(k, [])),
                "length_unit": self.units.get(k, "chars"),
            }
        return out


class ConversationStats:
    """Turns per conversation, messages and characters per role, trainable shape."""

    def __init__(self) -> None:
        self.turns: list[int] = []
        self.role_messages: Counter[str] = Counter()
        self.role_chars: dict[str, list[int]] = {}
        self.empty_messages = 0
        self.first_roles: Counter[str] = Counter()
        self.last_roles: Counter[str] = Counter()

    def add(self, messages: list[dict[str, Any]]) -> None:
        self.turns.append(len(messages))
        if not messages:
            return
        self.first_roles[str(messages[0].get("role"))] += 1
        self.last_roles[str(messages[-1].get("role"))] += 1
        role_messages, role_chars = self.role_messages, self.role_chars
        for m in messages:
            role = str(m.get("role"))
            content = m.get("content") or ""
            role_messages[role] += 1
            chars = role_chars.get(role)
            if chars is None:
                chars = role_chars[role] = []
            chars.append(len(content))
            # empty: nothing but whitespace (what strip() would leave empty), without a copy
            s = content if type(content) is str else str(content)
            if (not s or s.isspace()) and not m.get("tool_calls"):
                self.empty_messages += 1

    def summary(self) -> dict[str, Any] | None:
        if not self.turns:
            return None
        return {
            "conversations": len(self.turns),
            "turns": distribution(self.turns, bins=min(24, max(self.turns) or 1)),
            "roles": {
                r: {"messages": n, "chars": distribution(self.role_chars[r])}
                for r, n in self.role_messages.most_common()
            },
            "first_role": dict(self.first_roles.most_common()),
            "last_role": dict(self.last_roles.most_common()),
            "empty_messages": self.empty_messages,
        }


_PRETOKEN = re.compile(r"\w+|[^\w\s]")


class TokenCounter:
    """Token counts with a real tokenizer (tokenizer.json or a model folder), or an estimate
    (words and punctuation marks) when none is given; `name` says which."""

    def __init__(self, tokenizer: str | None = None):
        self.tok = None
        self.name = "estimate: words and punctuation (pass --tokenizer for exact counts)"
        if tokenizer:
            from forge.chat.tokenizer import read_tokenizer

            self.tok, path, _ = read_tokenizer(tokenizer)
            self.name = str(path)

    def count(self, texts: list[str]) -> list[int]:
        if self.tok is not None:
            return [len(e.ids) for e in self.tok.encode_batch(texts, add_special_tokens=False)]
        return [len(_PRETOKEN.findall(t)) for t in texts]
