"""Read raw files record by record: JSONL, JSON, CSV/TSV, Parquet, plain text, markdown;
compressed with gzip, zstd or bzip2 or not.

``iter_records`` yields ``(record_index, line, obj | RawError)`` and never raises for bad
content: a malformed record becomes a ``RawError`` with a reason code and the rest of the file
is still read. Memory is bounded by one record (lines over ``MAX_RECORD_BYTES`` are skipped
without being held).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from forge.data.encoding import SAMPLE_BYTES, EncodingGuess, detect_encoding, normalize_name
from forge.errors import ForgeError

MAX_RECORD_BYTES = 16 << 20
"""A line or record larger than this is rejected (`record_too_large`)."""
TEXT_PART_CHARS = 8 << 20
"""Plain-text documents larger than this are cut at paragraph breaks into parts."""

COMPRESSIONS = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bzip2"}
KINDS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".rst": "text",
    ".tex": "text",
    ".html": "text",
    ".htm": "text",
}
CODE_SUFFIXES = (
    ".py", ".pyi", ".js", ".mjs", ".ts", ".tsx", ".jsx", ".rs", ".go", ".java", ".kt", ".scala",
    ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".cs", ".rb", ".php", ".swift", ".m", ".lua", ".r",
    ".jl", ".sh", ".bash", ".zsh", ".sql", ".hs", ".ml", ".ex", ".exs", ".erl", ".clj", ".dart",
    ".zig",
)  # fmt: skip
"""Source code: read like plain text (a document per file, or per line with text_unit: line)."""
KINDS.update(dict.fromkeys(CODE_SUFFIXES, "text"))
LINE_KINDS = ("jsonl", "text-line")


@dataclass(frozen=True, slots=True)
class RawError:
    reason: str
    """Reason code: bad_json, not_an_object, invalid_encoding, nul_byte, record_too_large,
    bad_csv_row, empty_file, unreadable."""
    detail: str = ""


def split_suffix(path: str | Path) -> tuple[str | None, str | None]:
    """(file kind, compression) from the file name, e.g. ``a.jsonl.zst`` -> (jsonl, zstd)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    comp = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    if comp:
        suffixes = suffixes[:-1]
    kind = KINDS.get(suffixes[-1]) if suffixes else None
    return kind, comp


def open_binary(path: str | Path) -> IO[bytes]:
    """The file's bytes, decompressed by suffix."""
    _, comp = split_suffix(path)
    if comp == "gzip":
        return gzip.open(path, "rb")
    if comp == "bzip2":
        return bz2.open(path, "rb")
    if comp == "zstd":
        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(open(path, "rb")))
    return open(path, "rb")


def guess_encoding(path: str | Path, override: str | None = None) -> EncodingGuess:
    if override:
        return EncodingGuess(normalize_name(override), "set in the config")
    if split_suffix(path)[0] == "parquet":
        return EncodingGuess("utf-8", "Parquet strings are UTF-8")
    with open_binary(path) as f:
        return detect_encoding(f.read(SAMPLE_BYTES))


def sniff_json_kind(path: str | Path, encoding: str) -> str:
    """A `.json` file is an array, one object, or JSON Lines under the wrong name."""
    with open_binary(path) as f:
        head = f.read(4096)
        text = head.decode(encoding, errors="replace").lstrip("\ufeff \t\r\n")
        if text.startswith("["):
            return "json-array"
        if text.startswith("{"):
            f.seek(0)
            first = f.readline(MAX_RECORD_BYTES).decode(encoding, errors="replace")
            try:
                orjson.loads(first.lstrip("\ufeff"))
            except orjson.JSONDecodeError:
                return "json-object"
            return "jsonl" if f.read(64).strip() else "json-object"
    return "json-empty" if not text.strip() else "json-bad"


def resolve_kind(path: str | Path, encoding: str, text_unit: str = "auto") -> str:
    """The reader for a file: jsonl, json-array, json-object, csv, tsv, parquet, text-file,
    text-line, markdown."""
    kind, _ = split_suffix(path)
    if kind is None:
        raise ForgeError(
            f"{path}: unknown file type",
            "use .jsonl, .json, .csv, .tsv, .parquet, text (.txt, .md, .rst) or source code"
            " (.py, .rs, .js, ...), optionally .gz/.zst/.bz2",
        )
    if kind == "json":
        return sniff_json_kind(path, encoding)
    if kind == "text":
        return "text-line" if text_unit == "line" else "text-file"
    if kind == "markdown":
        return "text-line" if text_unit == "line" else "markdown"
    return kind


def iter_records(
    path: str | Path,
    encoding: str | None = None,
    *,
    kind: str | None = None,
    text_unit: str = "auto",
    start: int = 0,
    end: int | None = None,
    first_line: int = 1,
) -> Iterator[tuple[int, int, Any]]:
    """Yield ``(record_index, line, obj | RawError)`` for every record of ``path``.

    ``start``/``end``/``first_line`` read one byte range of an uncompressed line-oriented file
    (a shard): ``start`` must be at a line start and ``first_line`` its 1-based line number.
    For line formats the record index is ``line - 1``; for others the record's position.
    """
    enc = encoding or guess_encoding(path).encoding
    if enc is None:
        yield 0, 1, RawError("invalid_encoding", "not UTF-8 and no known encoding decodes it")
        return
    kind = kind or resolve_kind(path, enc, text_unit)
    if kind in LINE_KINDS:
        yield from _iter_lines(path, enc, kind, start, end, first_line)
    elif kind == "json-array":
        yield from _iter_json_array(path, enc)
    elif kind == "json-object":
        yield from _iter_json_object(path, enc)
    elif kind in ("csv", "tsv"):
        yield from _iter_csv(path, enc, "\t" if kind == "tsv" else ",")
    elif kind == "parquet":
        yield from _iter_parquet(path)
    elif kind in ("text-file", "markdown"):
        yield from _iter_text_file(path, enc, kind)
    elif kind == "json-empty":
        yield 0, 1, RawError("empty_file", "the file holds no JSON")
    else:
        yield 0, 1, RawError("bad_json", "the file is neither a JSON array nor an object")


def _decode_line(raw: bytes, enc: str) -> str | RawError:
    if b"\x00" in raw:
        return RawError("nul_byte", "the line contains a NUL byte")
    try:
        return raw.decode(enc)
    except UnicodeDecodeError as e:
        return RawError("invalid_encoding", f"not valid {enc} at byte {e.start}")


def _read_line(f: IO[bytes]) -> tuple[bytes, bool]:
    """One line of at most MAX_RECORD_BYTES; longer lines are consumed, not held: (b'', True)."""
    raw = f.readline(MAX_RECORD_BYTES + 1)
    if len(raw) <= MAX_RECORD_BYTES or raw.endswith(b"\n"):
        return raw, False
    while True:
        rest = f.readline(1 << 20)
        if not rest or rest.endswith(b"\n"):
            return b"", True


def _iter_lines(
    path: str | Path, enc: str, kind: str, start: int, end: int | None, first_line: int
) -> Iterator[tuple[int, int, Any]]:
    utf8 = enc in ("utf-8", "utf-8-sig")
    line = first_line - 1
    seen = False  # a non-blank line; a file without one is rejected as empty
    with open_binary(path) as f:
        if start:
            f.seek(start)
        pos = start
        while end is None or pos < end:
            raw, too_long = _read_line(f)
            line += 1
            if too_long:
                seen = True
                yield (
                    line - 1,
                    line,
                    RawError("record_too_large", f"the line is over {MAX_RECORD_BYTES} bytes"),
                )
                if end is not None:
                    pos = f.tell()
                continue
            if not raw:
                if not seen and start == 0 and end is None:
                    yield 0, 1, RawError("empty_file", "the file is empty")
                break
            pos += len(raw)
            if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            stripped = raw.strip()
            if not stripped:
                continue
            seen = True
            if kind == "text-line":
                text = _decode_line(raw.rstrip(b"\r\n"), enc)
                yield line - 1, line, text if isinstance(text, RawError) else {"text": text}
                continue
            if b"\x00" in raw:
                yield line - 1, line, RawError("nul_byte", "the line contains a NUL byte")
                continue
            if utf8:
                try:
                    obj = orjson.loads(stripped)
                except orjson.JSONDecodeError as e:
                    yield line - 1, line, _json_error(stripped, enc, e)
                    continue
            else:
                text = _decode_line(stripped, enc)
                if isinstance(text, RawError):
                    yield line - 1, line, text
                    continue
                try:
                    obj = orjson.loads(text)
                except orjson.JSONDecodeError as e:
                    yield line - 1, line, RawError("bad_json", str(e))
                    continue
            yield line - 1, line, obj


def _json_error(raw: bytes, enc: str, e: Exception) -> RawError:
    try:
        raw.decode(enc)
    except UnicodeDecodeError as ue:
        return RawError("invalid_encoding", f"not valid UTF-8 at byte {ue.start}")
    return RawError("bad_json", str(e))


def _text_stream(path: str | Path, enc: str) -> io.TextIOWrapper:
    # surrogateescape keeps undecodable bytes visible so the record holding them is rejected
    return io.TextIOWrapper(open_binary(path), encoding=enc, errors="surrogateescape", newline="")


def _has_bad_chars(obj: Any) -> str | None:
    """'invalid_encoding' / 'nul_byte' when a decoded value carries either."""
    stack = [obj]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if "\x00" in v:
                return "nul_byte"
            if not v.isascii():
                try:
                    v.encode("utf-8")
                except UnicodeEncodeError:
                    return "invalid_encoding"
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return None


def _iter_json_array(path: str | Path, enc: str) -> Iterator[tuple[int, int, Any]]:
    from forge.data.jsonstream import iter_array

    with _text_stream(path, enc) as f:
        head = f.read(1)
        line = 1
        while head and head in "\ufeff \t\r\n":
            line += head == "\n"
            head = f.read(1)
        for i, (ln, obj) in enumerate(iter_array(f, MAX_RECORD_BYTES, first_line=line)):
            if isinstance(obj, str):
                reason, _, detail = obj.partition(": ")
                yield i, ln, RawError(reason, detail)
                continue
            bad = _has_bad_chars(obj)
            yield i, ln, RawError(bad, "in a string value") if bad else obj


def _iter_json_object(path: str | Path, enc: str) -> Iterator[tuple[int, int, Any]]:
    with open_binary(path) as f:
        data = f.read(MAX_RECORD_BYTES + 1)
    if len(data) > MAX_RECORD_BYTES:
        yield 0, 1, RawError("record_too_large", f"one JSON object over {MAX_RECORD_BYTES} bytes")
        return
    try:
        obj = orjson.loads(data.decode(enc).lstrip("\ufeff"))
    except (UnicodeDecodeError, orjson.JSONDecodeError) as e:
        reason = "invalid_encoding" if isinstance(e, UnicodeDecodeError) else "bad_json"
        yield 0, 1, RawError(reason, str(e))
        return
    bad = _has_bad_chars(obj)
    yield 0, 1, RawError(bad, "in a string value") if bad else obj


def _iter_csv(path: str | Path, enc: str, delimiter: str) -> Iterator[tuple[int, int, Any]]:
    csv.field_size_limit(MAX_RECORD_BYTES)
    with _text_stream(path, enc) as f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            yield 0, 1, RawError("empty_file", "the file has no header row")
            return
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        index = 0
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                yield index, line, RawError("bad_csv_row", str(e))
                index += 1
                continue
            if not row:
                continue
            if len(row) != len(header):
                yield (
                    index,
                    line,
                    RawError(
                        "bad_csv_row", f"{len(row)} fields where the header has {len(header)}"
                    ),
                )
            else:
                obj = dict(zip(header, row, strict=False))
                bad = _has_bad_chars(obj)
                yield index, line, RawError(bad, "in a field") if bad else obj
            index += 1


def _iter_parquet(path: str | Path) -> Iterator[tuple[int, int, Any]]:
    import pyarrow.parquet as pq

    index = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
        for obj in batch.to_pylist():
            yield index, index + 1, obj
            index += 1


def _iter_text_file(path: str | Path, enc: str, kind: str) -> Iterator[tuple[int, int, Any]]:
    """The file as one document (cut at paragraph breaks when it is very large)."""
    with _text_stream(path, enc) as f:
        part, line, carry = 0, 1, ""
        while True:
            data = f.read(TEXT_PART_CHARS)
            text = carry + data
            if not text:
                if part == 0:
                    yield 0, 1, RawError("empty_file", "the file is empty")
                return
            cut = len(text)
            if data and len(text) >= TEXT_PART_CHARS:
                brk = text.rfind("\n\n")
                cut = brk + 2 if brk > 0 else len(text)
            doc, carry = text[:cut], text[cut:]
            obj: dict[str, Any] = {"text": doc.lstrip("\ufeff") if part == 0 else doc}
            if kind == "markdown" and part == 0:
                obj["title"] = _markdown_title(doc)
            bad = _has_bad_chars(obj)
            yield part, line, RawError(bad, "in the text") if bad else obj
            line += doc.count("\n")
            part += 1
            if not data and not carry:
                return


def _markdown_title(text: str) -> str:
    for ln in text.splitlines()[:50]:
        if ln.startswith("# "):
            return ln[2:].strip()
    return ""
