"""A cheap look at raw data for `forge plan`: format, row count, token-length percentiles.

Reads at most ``max_rows`` records per file (the first ones: deterministic) and counts the
rest without parsing them (newlines for JSONL/CSV, Parquet metadata). Token counts use a
tokenizer.json when one is given; otherwise they are an estimate of ~4 bytes of UTF-8 per
token (the usual figure for English with a byte-level BPE), and the result says so.
`forge prepare` does the real reading; this only sizes the job.
"""

from __future__ import annotations

import csv
import glob
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from forge.data.read import KINDS
from forge.errors import ForgeError

BYTES_PER_TOKEN = 4.0
TEXT_SAMPLE = 16 * 1024**2  # bytes read from one text document
RECORD_EXTS = {".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet"}
# what `forge prepare` reads as documents: plan samples exactly those
TEXT_EXTS = {s for s, kind in KINDS.items() if kind in ("text", "markdown")}
# Template tokens a chat format adds per message (role header + end of turn), roughly.
TOKENS_PER_MESSAGE = 4


@dataclass
class DataSample:
    files: list[str]
    kind: str  # "chat" | "instruction" | "text" | "unknown"
    formats: dict[str, int]  # guessed record format -> sampled rows
    rows: int
    rows_exact: bool
    sampled_rows: int
    total_bytes: int
    tokens: dict[str, int]  # p50, p90, p95, p99, max (per row, sampled)
    chars: dict[str, int]
    total_tokens: int  # estimated over all rows
    total_chars: int
    token_method: str  # "tokenizer.json" or "estimate (~4 bytes per token)"
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def expand_paths(
    paths: list[str],
    known: Callable[[Path], bool] | None = None,
    label: str = "--data ",
    hint: str = "give files or a glob",
) -> list[Path]:
    """Files named directly, found under folders (recursively, those `known` accepts: by default
    the extensions plan samples), or matched by globs, in a stable order. `label` prefixes the
    path in errors (the option it came from)."""
    if known is None:
        known = _sampled
    out: list[Path] = []
    for p in paths:
        globbed = any(ch in p for ch in "*?[")
        hits = sorted(glob.glob(p, recursive=True)) if globbed else [p]
        if not hits:
            raise ForgeError(f"{label}{p}: the pattern matches no file", "check the glob")
        for h in (Path(x).expanduser() for x in hits):
            if h.is_dir():
                found = sorted(f for f in h.rglob("*") if f.is_file() and known(f))
                if not found and not globbed:
                    raise ForgeError(f"{label}{p}: no data files in this folder", hint)
                out += found
            elif h.is_file():
                out.append(h)
            else:
                raise ForgeError(f"{label}{p}: no such file or folder", "check the path")
    return out


def _sampled(f: Path) -> bool:
    return f.suffix.lower() in RECORD_EXTS | TEXT_EXTS


def guess_format(rec: Any) -> str:
    """The record layout, by its keys (the names `data.sources[].format` uses)."""
    if isinstance(rec, str):
        return "text"
    if not isinstance(rec, dict):
        return "unknown"
    keys = {k.lower() for k in rec}
    if "messages" in keys:
        return "openai"
    if "conversations" in keys or "conversation" in keys:
        return "sharegpt"
    if "message_id" in keys and ("replies" in keys or "role" in keys):
        return "oasst"  # OpenAssistant message trees
    if "instruction" in keys and ("output" in keys or "response" in keys):
        return "alpaca"
    if "prompt" in keys and ("completion" in keys or "response" in keys or "chosen" in keys):
        return "prompt_completion"
    if ("query" in keys or "question" in keys) and ("response" in keys or "answer" in keys):
        return "query_response"
    if "text" in keys or "content" in keys:
        return "text"
    return "unknown"


KIND = {
    "openai": "chat",
    "sharegpt": "chat",
    "oasst": "chat",
    "alpaca": "instruction",
    "prompt_completion": "instruction",
    "query_response": "instruction",
    "text": "text",
}


def _strings(obj: Any) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def _n_messages(rec: Any) -> int:
    if isinstance(rec, dict):
        for key in ("messages", "conversations", "conversation"):
            if isinstance(rec.get(key), list):
                return len(rec[key])
        if KIND.get(guess_format(rec)) == "instruction":
            return 2
    return 0


def _count_lines(path: Path) -> int:
    n, last = 0, b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def _read_records(path: Path, max_rows: int) -> tuple[list[Any], int, bool, list[str]]:
    """(sampled records, total rows, whether the total is exact, warnings)."""
    ext = path.suffix.lower()
    warnings: list[str] = []
    if ext in (".jsonl", ".ndjson"):
        recs, bad = [], 0
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if len(recs) + bad >= max_rows:
                    break
                if line.strip():
                    try:
                        recs.append(json.loads(line))
                    except json.JSONDecodeError:
                        bad += 1
        if bad:
            warnings.append(f"{path}: {bad} of the first {len(recs) + bad} lines are not JSON")
        return recs, _count_lines(path), True, warnings
    if ext == ".json":
        if path.stat().st_size > 200 * 1024**2:
            return [], 0, False, [f"{path}: a JSON file over 200 MB is not sampled; use JSONL"]
        try:
            data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        except json.JSONDecodeError as e:
            raise ForgeError(f"{path}:{e.lineno}: invalid JSON: {e.msg}", "fix the file") from e
        if isinstance(data, dict):  # {"data": [...]} or one record
            lists = [v for v in data.values() if isinstance(v, list)]
            data = lists[0] if len(lists) == 1 else [data]
        return list(data[:max_rows]), len(data), True, warnings
    if ext in (".csv", ".tsv"):
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            reader = csv.DictReader(f, delimiter="\t" if ext == ".tsv" else ",")
            recs = [row for _, row in zip(range(max_rows), reader, strict=False)]
        rows = max(_count_lines(path) - 1, len(recs))  # quoted newlines make this approximate
        return recs, rows, False, warnings
    if ext == ".parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        total = pf.metadata.num_rows
        recs: list[Any] = []
        for i in range(pf.num_row_groups):
            recs += pf.read_row_group(i).to_pylist()
            if len(recs) >= max_rows:
                break
        return recs[:max_rows], total, True, warnings
    # a text document: one row per file (only its first TEXT_SAMPLE bytes are read)
    with open(path, "rb") as f:
        text = f.read(TEXT_SAMPLE).decode("utf-8", errors="replace")
    return [text], 1, True, warnings


def _percentiles(values: list[int]) -> dict[str, int]:
    if not values:
        return {"p50": 0, "p90": 0, "p95": 0, "p99": 0, "max": 0}
    v = sorted(values)

    def pct(q: float) -> int:  # nearest-rank percentile
        return v[min(len(v) - 1, max(0, math.ceil(q * len(v)) - 1))]

    return {"p50": pct(0.5), "p90": pct(0.9), "p95": pct(0.95), "p99": pct(0.99), "max": v[-1]}


def sample_data(paths: list[str], max_rows: int = 2000, tokenizer: str | None = None) -> DataSample:
    """Sample raw data files (JSON, JSONL, CSV/TSV, Parquet, text) for planning."""
    files = expand_paths(paths)
    count_tokens = None
    method = f"estimate (~{BYTES_PER_TOKEN:g} bytes per token)"
    if tokenizer:
        from forge.chat.tokenizer import read_tokenizer

        tok = read_tokenizer(tokenizer)[0]

        def count_tokens(texts: list[str]) -> list[int]:
            return [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)]

        method = "tokenizer.json"
    formats: dict[str, int] = {}
    tok_lens: list[int] = []
    char_lens: list[int] = []
    rows = sampled = total_bytes = 0
    exact = True
    warnings: list[str] = []
    total_tokens = total_chars = 0.0
    for path in files:
        total_bytes += path.stat().st_size
        recs, n, is_exact, warn = _read_records(path, max_rows)
        warnings += warn
        exact &= is_exact
        rows += n
        texts, extra = [], []
        for rec in recs:
            fmt = guess_format(rec)
            formats[fmt] = formats.get(fmt, 0) + 1
            texts.append("\n".join(_strings(rec)))
            extra.append(_n_messages(rec) * TOKENS_PER_MESSAGE)
        if count_tokens is not None:
            counts = count_tokens(texts)
        else:
            counts = [max(1, round(len(t.encode("utf-8")) / BYTES_PER_TOKEN)) for t in texts]
        lens = [c + x for c, x in zip(counts, extra, strict=True)]
        tok_lens += lens
        char_lens += [len(t) for t in texts]
        sampled += len(recs)
        if recs:  # scale the sample's mean to the file's row count
            # a text file larger than what was read counts in full, by its size
            is_text = path.suffix.lower() not in RECORD_EXTS
            scale = max(1.0, path.stat().st_size / TEXT_SAMPLE) if is_text else 1.0
            total_tokens += sum(lens) / len(recs) * n * scale
            total_chars += sum(len(t) for t in texts) / len(recs) * n * scale
    if not sampled:
        raise ForgeError(
            f"no records found in {', '.join(map(str, files))}", "check the files are not empty"
        )
    kinds = {KIND.get(f, "unknown") for f in formats if formats[f] >= 0.05 * sampled}
    if {"chat", "instruction"} & kinds:
        kind = "chat" if "chat" in kinds else "instruction"
    else:
        kind = "text" if "text" in kinds else "unknown"
    return DataSample(
        files=[str(f) for f in files],
        kind=kind,
        formats=dict(sorted(formats.items(), key=lambda kv: (-kv[1], kv[0]))),
        rows=rows,
        rows_exact=exact,
        sampled_rows=sampled,
        total_bytes=total_bytes,
        tokens=_percentiles(tok_lens),
        chars=_percentiles(char_lens),
        total_tokens=int(total_tokens),
        total_chars=int(total_chars),
        token_method=method,
        warnings=warnings,
    )
