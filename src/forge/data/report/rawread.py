"""Reading raw files for `forge inspect`: the prepare engine's readers, format detection and
normalization (forge.data.read / detect / normalize) when present, else a small reader of
JSON, JSON Lines and CSV with the same outputs, so inspect works on its own."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from forge.errors import ForgeError

SUFFIXES = (".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".parquet", ".txt", ".md")


def expand(paths: list[str]) -> list[Path]:
    """Files named, found in folders (recursively), or matched by globs, in a stable order."""
    import glob

    out: list[Path] = []
    for p in paths:
        hits = sorted(glob.glob(p, recursive=True)) if any(c in p for c in "*?[") else [p]
        if not hits:
            raise ForgeError(f"{p}: no file matches", "check the path or the glob")
        for h in map(Path, hits):
            if h.is_dir():
                out += sorted(f for f in h.rglob("*") if f.is_file() and _known(f))
            elif h.is_file():
                out.append(h)
            else:
                raise ForgeError(f"{h}: no such file or folder", "check the path")
    return out


def _known(f: Path) -> bool:
    name = f.name.lower()
    for comp in (".gz", ".zst", ".bz2"):
        name = name.removesuffix(comp)
    return name.endswith(SUFFIXES)


def encoding_of(path: Path) -> tuple[str | None, str]:
    """(codec or None, how it was decided)."""
    try:
        from forge.data.read import guess_encoding
    except ImportError:
        raw = path.read_bytes()[: 1 << 20]
        try:
            raw.decode("utf-8")
            return "utf-8", "valid UTF-8"
        except UnicodeDecodeError:
            from charset_normalizer import from_bytes

            # Western single-byte code pages first: a statistical guess confuses them with
            # Central-European ones on short English text.
            for enc in ("cp1252", "mac_roman"):
                best = from_bytes(raw, cp_isolation=[enc]).best()
                if best is not None and best.chaos <= 0.1:
                    return enc, f"not UTF-8; decodes cleanly as {enc}"
            best = from_bytes(raw).best()
            return (best.encoding, "charset-normalizer") if best else (None, "undecodable")
    g = guess_encoding(path)
    return g.encoding, g.reason


def records(path: Path, encoding: str | None) -> Iterator[tuple[int, int, Any]]:
    """(record index, line, obj) or (index, line, RawError-like with .reason/.detail)."""
    try:
        from forge.data.read import iter_records
    except ImportError:
        yield from _fallback_records(path, encoding or "utf-8")
        return
    yield from iter_records(path, encoding)


class _Error:
    def __init__(self, reason: str, detail: str = ""):
        self.reason, self.detail = reason, detail


def _fallback_records(path: Path, enc: str) -> Iterator[tuple[int, int, Any]]:
    text = path.read_bytes().decode(enc, errors="replace").lstrip("\ufeff")
    name = path.name.lower()
    if name.endswith((".csv", ".tsv")):
        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if name.endswith("tsv") else ",")
        for i, row in enumerate(reader):
            yield i, reader.line_num, row
        return
    stripped = text.lstrip()
    if name.endswith(".json") and stripped[:1] in "[{" and not _looks_jsonl(stripped):
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as e:
            yield 0, 1, _Error("bad_json", str(e))
            return
        for i, obj in enumerate(data if isinstance(data, list) else [data]):
            yield i, i + 1, obj
        return
    for i, line in enumerate(text.splitlines()):
        if line.strip():
            try:
                yield i, i + 1, orjson.loads(line)
            except orjson.JSONDecodeError as e:
                yield i, i + 1, _Error("bad_json", str(e))


def _looks_jsonl(text: str) -> bool:
    first, _, rest = text.partition("\n")
    try:
        orjson.loads(first)
    except orjson.JSONDecodeError:
        return False
    return bool(rest.strip())


def detect(sample: list[Any]) -> dict[str, Any]:
    """{"format", "confidence", "reasons"}; an ambiguous sample is reported, not raised."""
    try:
        from forge.data.detect import detect_format
    except ImportError:
        return _fallback_detect(sample)
    try:
        d = detect_format(sample)
    except ForgeError as e:
        return {"format": "unknown", "confidence": 0.0, "reasons": [e.message]}
    return {"format": d.format, "confidence": d.confidence, "reasons": list(d.reasons)}


def _fallback_detect(sample: list[Any]) -> dict[str, Any]:
    from collections import Counter

    c: Counter[str] = Counter()
    dicts = [o for o in sample if isinstance(o, dict)]
    for o in dicts:
        if "instruction" in o and "output" in o:
            c["alpaca"] += 1
        elif isinstance(o.get("conversations"), list):
            c["sharegpt"] += 1
        elif isinstance(o.get("messages"), list):
            c["openai"] += 1
        elif "text" in o:
            c["text"] += 1
    if not c:
        return {"format": "unknown", "confidence": 0.0, "reasons": ["no known layout"]}
    fmt, n = c.most_common(1)[0]
    return {"format": fmt, "confidence": round(n / len(dicts), 4), "reasons": [f"{fmt}: {n}"]}


_SHAREGPT_ROLE = {"human": "user", "gpt": "assistant", "system": "system", "user": "user",
                  "assistant": "assistant", "function_call": "assistant",
                  "observation": "tool", "tool": "tool"}  # fmt: skip


def to_record(obj: Any, fmt: str) -> tuple[list[dict[str, Any]] | None, str]:
    """(messages as dicts or None for text documents, the text compared and measured).

    Raises an exception with `.reason` when the row cannot be normalized.
    """
    try:
        from forge.data.normalize import normalize
    except ImportError:
        return _fallback_record(obj, fmt)
    recs = normalize(obj, fmt)
    rec = recs[0]
    if hasattr(rec, "messages"):
        msgs = [m.to_dict() for m in rec.messages]
        return msgs, "\n".join(f"{m['role']}: {m.get('content') or ''}" for m in msgs)
    return None, rec.text


def _fallback_record(obj: Any, fmt: str) -> tuple[list[dict[str, Any]] | None, str]:
    if not isinstance(obj, dict):
        raise _Reject("not_an_object")
    if fmt == "alpaca":
        msgs = ([{"role": "system", "content": obj["system"]}] if obj.get("system") else []) + [
            {"role": "user", "content": "\n\n".join(x for x in (obj.get("instruction"), obj.get("input")) if x)},
            {"role": "assistant", "content": obj.get("output") or ""},
        ]  # fmt: skip
    elif fmt == "sharegpt":
        msgs = [{"role": _SHAREGPT_ROLE.get(str(m.get("from")), str(m.get("from"))),
                 "content": m.get("value") or ""} for m in obj["conversations"]]  # fmt: skip
    elif fmt == "openai":
        msgs = [{"role": m.get("role"), "content": m.get("content") or ""} for m in obj["messages"]]
    elif fmt == "text":
        return None, str(obj.get("text") or "")
    else:
        raise _Reject("unknown_format")
    return msgs, "\n".join(f"{m['role']}: {m['content']}" for m in msgs)


class _Reject(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
