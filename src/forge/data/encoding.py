"""Which text encoding a file is in: BOMs, UTF-8, or a legacy single-byte encoding.

Decision, on a sample of the (decompressed) bytes:
1. a BOM names the encoding (UTF-8 with BOM, UTF-16, UTF-32);
2. if the lines with non-ASCII bytes are mostly valid UTF-8, the file is UTF-8 and the few
   lines that are not are rejected one by one later (a "mixed encodings" file loses only them);
3. else the commonest legacy encodings of Western text are tried first (Windows-1252, then
   Mac Roman), since a statistical detector confuses them with Central-European code pages
   on short English text; then charset-normalizer's best guess;
4. nothing fits: the file is rejected with a reason; `encoding:` in the source overrides all.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

SAMPLE_BYTES = 1 << 20
_PREFERRED = ("cp1252", "mac_roman")
_MAX_CHAOS = 0.1

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True, slots=True)
class EncodingGuess:
    encoding: str | None
    """Python codec name, or None when nothing decodes the file."""
    reason: str
    """How it was chosen (shown in --dry-run and the manifest)."""


def normalize_name(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError as e:
        from forge.errors import ForgeError

        raise ForgeError(
            f"unknown text encoding '{name}'",
            "use a Python codec name such as utf-8, cp1252, mac_roman, latin-1",
        ) from e


def detect_encoding(sample: bytes) -> EncodingGuess:
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return EncodingGuess(name, "byte-order mark")
    if sample.isascii():
        return EncodingGuess("utf-8", "ASCII")
    good = bad = 0
    lines = sample.split(b"\n")
    if len(sample) >= SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the sample may end inside a multi-byte character
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            bad += 1
    if bad == 0:
        return EncodingGuess("utf-8", "valid UTF-8")
    if good > bad:
        return EncodingGuess("utf-8", f"mostly UTF-8 ({bad} of {good + bad} lines are not)")
    from charset_normalizer import from_bytes

    for enc in _PREFERRED:
        best = from_bytes(sample, cp_isolation=[enc]).best()
        if best is not None and best.chaos <= _MAX_CHAOS:
            return EncodingGuess(codecs.lookup(enc).name, f"not UTF-8; decodes cleanly as {enc}")
    best = from_bytes(sample).best()
    if best is not None:
        return EncodingGuess(codecs.lookup(best.encoding).name, "not UTF-8; charset-normalizer")
    return EncodingGuess(None, "not UTF-8 and no known encoding decodes it")
