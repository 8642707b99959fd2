"""Reading raw files for `forge inspect` with the same readers, format detection and
normalization `forge prepare` uses (forge.data.read / detect / normalize), so the report
describes exactly what prepare would see."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from forge.catalog.sample import expand_paths
from forge.data.detect import detect_format
from forge.data.normalize import normalize
from forge.data.read import COMPRESSIONS, KINDS, guess_encoding, iter_records
from forge.errors import ForgeError


def expand(paths: list[str]) -> list[Path]:
    """Files named, found in folders (recursively), or matched by globs, in a stable order."""
    return expand_paths(
        paths,
        known=_known,
        label="",
        hint="forge reads .jsonl .json .csv .tsv .parquet .txt .md (also .gz/.zst/.bz2)",
    )


def _known(f: Path) -> bool:
    suffixes = [s.lower() for s in f.suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes = suffixes[:-1]
    return bool(suffixes) and suffixes[-1] in KINDS


def encoding_of(path: Path) -> tuple[str | None, str]:
    """(codec or None, how it was decided)."""
    g = guess_encoding(path)
    return g.encoding, g.reason


def records(path: Path, encoding: str | None) -> Iterator[tuple[int, int, Any]]:
    """(record index, line, obj | RawError) for every record of the file."""
    yield from iter_records(path, encoding)


def detect(sample: list[Any]) -> dict[str, Any]:
    """{"format", "confidence", "reasons"}; an ambiguous sample is reported, not raised."""
    try:
        d = detect_format(sample)
    except ForgeError as e:
        return {"format": "unknown", "confidence": 0.0, "reasons": [e.message]}
    return {"format": d.format, "confidence": d.confidence, "reasons": list(d.reasons)}


def to_record(obj: Any, fmt: str) -> tuple[list[dict[str, Any]] | None, str]:
    """(messages as dicts, or None for a text document; the text compared and measured).

    Raises forge.data.normalize.Reject (with `.reason`) when the row cannot be normalized.
    """
    rec = normalize(obj, fmt)[0]
    if hasattr(rec, "messages"):
        msgs = [m.to_dict() for m in rec.messages]
        return msgs, "\n".join(f"{m['role']}: {m.get('content') or ''}" for m in msgs)
    return None, rec.text
