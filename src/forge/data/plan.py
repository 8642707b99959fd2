"""What `forge prepare` will read and in which pieces: files, encodings, formats, shards.

Sources expand to files (a file, a folder read recursively, or a glob; sorted, so the order
and thus every row id is deterministic). Each source's format is detected from a sample of its
rows. Files are grouped into shards of about ``shard_rows`` rows: small files share a shard,
large uncompressed line files (JSONL, text per line) are cut at line boundaries.
"""

from __future__ import annotations

import glob
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from forge.config.data import DataConfig, PreprocessingConfig, SourceConfig
from forge.data.detect import FORMATS, Detection, apply_fields, detect_format
from forge.data.read import (
    KINDS,
    LINE_KINDS,
    RawError,
    guess_encoding,
    iter_records,
    resolve_kind,
    split_suffix,
)
from forge.errors import ForgeError

SCAN_BLOCK = 8 << 20


@dataclass
class InputFile:
    index: int
    path: str
    source: int
    kind: str
    encoding: str | None
    encoding_reason: str
    bytes: int


@dataclass
class Piece:
    file: int
    start: int = 0
    end: int | None = None
    first_line: int = 1


@dataclass
class Shard:
    index: int
    pieces: list[Piece] = field(default_factory=list)


@dataclass
class SourcePlan:
    index: int
    path: str
    format: str
    confidence: float
    reasons: list[str]
    fields: dict[str, str]
    weight: float
    text_unit: str
    oasst_paths: str
    files: list[int]
    sample_rows: int
    sample_bytes_per_row: float


@dataclass
class Plan:
    kind: str
    """chat or pretrain."""
    files: list[InputFile]
    sources: list[SourcePlan]
    shards: list[Shard]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        return cls(
            kind=d["kind"],
            files=[InputFile(**f) for f in d["files"]],
            sources=[SourcePlan(**s) for s in d["sources"]],
            shards=[Shard(s["index"], [Piece(**p) for p in s["pieces"]]) for s in d["shards"]],
        )


def expand(path: str, base: Path | None = None) -> list[str]:
    """A file, a folder (recursive, known file types only) or a glob -> sorted file paths."""
    p = Path(path).expanduser()
    if base is not None and not p.is_absolute():
        p = base / p
    if any(c in path for c in "*?["):
        found = sorted(f for f in glob.glob(str(p), recursive=True) if os.path.isfile(f))
    elif p.is_dir():
        found = sorted(
            str(f) for f in p.rglob("*") if f.is_file() and split_suffix(f)[0] is not None
        )
    elif p.is_file():
        found = [str(p)]
    else:
        raise ForgeError(f"data source not found: {path}", "check `data.sources[].path`")
    if not found:
        raise ForgeError(
            f"data source matches no readable file: {path}",
            "supported: " + ", ".join(sorted(KINDS)) + " (optionally .gz/.zst/.bz2)",
        )
    return found


def _sample(files: list[InputFile], n: int, src: SourceConfig) -> tuple[list[Any], float]:
    rows: list[Any] = []
    nbytes = 0
    for f in files:
        if f.encoding is None:
            continue
        for _, _, obj in iter_records(f.path, f.encoding, kind=f.kind):
            if not isinstance(obj, RawError):
                rows.append(apply_fields(obj, src.fields))
            if len(rows) >= n:
                break
        nbytes += f.bytes
        if len(rows) >= n:
            # bytes per row from the part of the file the sample covers is unknown for
            # non-line files; the whole-file average is close enough for shard sizing
            break
    per_row = nbytes / max(1, len(rows)) if rows else 1000.0
    return rows, per_row


def _bytes_per_row(files: list[InputFile], rows: int) -> float:
    """Average raw bytes per row over the first line file, from its first lines."""
    for f in files:
        if f.kind in LINE_KINDS and split_suffix(f.path)[1] is None:
            with open(f.path, "rb") as fh:
                head = fh.read(SCAN_BLOCK)
            lines = max(1, head.count(b"\n"))
            return len(head) / lines
    return 0.0


def build_plan(data: DataConfig, pre: PreprocessingConfig, base: Path | None = None) -> Plan:
    if not data.sources:
        raise ForgeError(
            "no data sources: `data.sources` is empty",
            "add one, e.g. `data: {sources: [{path: data/train.jsonl}]}` or pass PATH",
        )
    files: list[InputFile] = []
    sources: list[SourcePlan] = []
    seen: dict[str, int] = {}
    for si, src in enumerate(data.sources):
        mine: list[InputFile] = []
        for path in expand(src.path, base):
            if path in seen:
                raise ForgeError(
                    f"{path} is read by two sources (#{seen[path]} and #{si})",
                    "make the sources' paths or globs disjoint",
                )
            seen[path] = si
            guess = guess_encoding(path, src.encoding)
            kind = resolve_kind(path, guess.encoding or "utf-8", src.text_unit)
            f = InputFile(
                len(files), path, si, kind, guess.encoding, guess.reason, os.path.getsize(path)
            )
            files.append(f)
            mine.append(f)
        sample, per_row = _sample(mine, pre.sample_rows, src)
        line_per_row = _bytes_per_row(mine, len(sample))
        if src.format != "auto":
            if src.format not in FORMATS:
                raise ForgeError(
                    f"data.sources[{si}].format: unknown format '{src.format}'",
                    "use auto or one of: " + ", ".join(FORMATS),
                )
            det = Detection(src.format, 1.0, ["set in the config"], len(sample))
        elif not sample:
            # nothing readable: the run goes on, and the file's errors land in rejected.jsonl
            det = Detection("empty", 0.0, ["no readable rows"], 0)
        else:
            try:
                det = detect_format(sample)
            except ForgeError as e:
                raise ForgeError(f"data.sources[{si}] ({src.path}): {e.message}", e.hint) from None
        sources.append(
            SourcePlan(
                si,
                src.path,
                det.format,
                det.confidence,
                det.reasons,
                dict(src.fields),
                src.weight,
                src.text_unit,
                src.oasst_paths,
                [f.index for f in mine],
                len(sample),
                line_per_row or per_row,
            )
        )
    kind = pre.kind
    if kind == "auto":
        formats = {s.format for s in sources} - {"empty"}
        kind = "pretrain" if formats == {"text"} else "chat"
    if kind == "chat" and any(s.format == "text" for s in sources):
        bad = next(s for s in sources if s.format == "text")
        raise ForgeError(
            f"data.sources[{bad.index}] ({bad.path}) is plain text but the other sources are chat",
            "prepare text and chat data separately, or map its columns with `fields:`",
        )
    return Plan(kind, files, sources, _shards(files, sources, pre.shard_rows))


def _line_ranges(path: str, target: int) -> list[Piece]:
    """Cut an uncompressed line file into equal byte ranges of about ``target`` bytes at
    newlines, counting lines so each range knows its first line number. Equal, not ``target``
    bytes and a remainder: the shards are the passes' unit of work, and one shard 1.4 times
    the others was the last to finish, with the other workers idle."""
    size = os.path.getsize(path)
    if size <= target * 1.5:
        return [Piece(-1)]
    target = -(-size // round(size / target))
    import numpy as np

    pieces: list[Piece] = []
    start, line = 0, 1
    # newlines counted by numpy in one reused buffer: bytes.count was 3.5x slower, and a new
    # 8 MB bytes object per block costs its page faults
    buf = bytearray(SCAN_BLOCK)
    view = memoryview(buf)
    octets = np.frombuffer(buf, dtype=np.uint8)
    is_newline = np.empty(SCAN_BLOCK, dtype=bool)
    with open(path, "rb") as f:
        while start < size:
            cut = start + target
            if cut >= size - target // 2:
                pieces.append(Piece(-1, start, None, line))
                break
            f.seek(cut)
            f.readline()
            cut = f.tell()
            # count lines in [start, cut) block by block
            f.seek(start)
            n, left = 0, cut - start
            while left:
                got = f.readinto(view[: min(SCAN_BLOCK, left)])
                if not got:  # the file got shorter while being read
                    break
                n += int(np.count_nonzero(np.equal(octets[:got], 10, out=is_newline[:got])))
                left -= got
            pieces.append(Piece(-1, start, cut, line))
            start, line = cut, line + n
    return pieces


# Shards are the unit of load balancing too: a few big shards leave workers idle at the end
# (5 shards on 2 workers is 3 rounds for 2.5 rounds of work), so data of less than
# MIN_SHARDS * shard_rows rows is cut into MIN_SHARDS smaller shards, down to MIN_SHARD_ROWS.
# The same for every machine (no core count in it), so the plan stays a function of the data.
MIN_SHARDS = 16
MIN_SHARD_ROWS = 1000


def _shards(files: list[InputFile], sources: list[SourcePlan], shard_rows: int) -> list[Shard]:
    total = sum(f.bytes / max(1.0, sources[f.source].sample_bytes_per_row) for f in files)
    shard_rows = min(shard_rows, max(MIN_SHARD_ROWS, int(-(-total // MIN_SHARDS))))
    shards: list[Shard] = []
    cur = Shard(0)
    cur_rows = 0.0
    for f in files:
        per_row = max(1.0, sources[f.source].sample_bytes_per_row)
        target = int(per_row * shard_rows)
        splittable = f.kind in LINE_KINDS and split_suffix(f.path)[1] is None
        ranges = _line_ranges(f.path, target) if splittable else [Piece(-1)]
        for r in ranges:
            r.file = f.index
            size = (r.end if r.end is not None else f.bytes) - r.start
            rows = size / per_row
            if cur.pieces and cur_rows + rows > shard_rows * 1.2:
                shards.append(cur)
                cur, cur_rows = Shard(len(shards)), 0.0
            cur.pieces.append(r)
            cur_rows += rows
    if cur.pieces:
        shards.append(cur)
    return shards
