"""The quality report of raw files (`forge inspect data/*.jsonl`), before any preparation."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from forge import __version__
from forge.config.quality import DedupConfig
from forge.data.report.common import TextStats, duplicates, problems
from forge.data.report.rawread import detect, encoding_of, expand, records, to_record
from forge.data.report.stats import (
    EXAMPLES,
    ConversationStats,
    FieldStats,
    TokenCounter,
    distribution,
    snippet,
)

DETECT_SAMPLE = 1000


def _is_error(obj: Any) -> bool:
    return hasattr(obj, "reason") and not isinstance(obj, dict)


def _fallback_text(obj: Any) -> str:
    if isinstance(obj, dict):
        return "\n".join(str(v) for v in obj.values() if isinstance(v, str))
    return str(obj)


def inspect_raw(
    paths: list[str],
    tokenizer: str | None = None,
    dedup: DedupConfig | None = None,
    limit: int | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """A report dict (the same layout as a prepared dataset's report, kind "raw").

    `on_rows(n)` is called every 1,000 rows read and at the end (for a progress bar)."""
    files = expand([str(p) for p in paths])
    fields, convs, text_stats = FieldStats(), ConversationStats(), TextStats()
    counter = TokenCounter(tokenizer)
    rejected: Counter[str] = Counter()
    rej_examples: dict[str, list[dict[str, Any]]] = {}
    texts: list[str] = []
    where: list[Any] = []
    role_texts: dict[str, list[str]] = {}
    sources = []
    for path in files:
        enc, why = encoding_of(path)
        it = records(path, enc)
        head: list[tuple[int, int, Any]] = []
        for item in it:
            head.append(item)
            if len(head) >= DETECT_SAMPLE:
                break
        det = detect([o for _, _, o in head if not _is_error(o)])
        n_rows = 0

        for _, line, obj in itertools.chain(head, it):
            if limit is not None and len(texts) >= limit:
                break
            n_rows += 1
            if on_rows is not None and n_rows % 1000 == 0:
                on_rows(1000)
            loc = [str(path), line]
            if _is_error(obj):
                _reject(rejected, rej_examples, obj.reason, loc, getattr(obj, "detail", ""))
                continue
            fields.add(obj, loc)
            msgs = None
            if det["format"] == "unknown":
                text = _fallback_text(obj)
            else:
                try:
                    msgs, text = to_record(obj, det["format"])
                except Exception as e:  # a row the normalizer refuses is a finding, not a crash
                    _reject(rejected, rej_examples, getattr(e, "reason", "bad_row"), loc, str(e))
                    continue
            if msgs is not None:
                convs.add(msgs)
                for m in msgs:
                    role_texts.setdefault(str(m.get("role")), []).append(
                        str(m.get("content") or "")
                    )
            text_stats.add(text, loc)
            texts.append(text)
            where.append(loc)
        if on_rows is not None:
            on_rows(n_rows % 1000)
        sources.append(
            {
                "path": str(path),
                "bytes": path.stat().st_size,
                "encoding": enc,
                "encoding_reason": why,
                "rows": n_rows,
                **det,
            }
        )
    tokens = counter.count(texts) if texts else []
    report: dict[str, Any] = {
        "kind": "raw",
        "forge_version": __version__,
        "paths": [str(p) for p in paths],
        "sources": sources,
        "rows": sum(s["rows"] for s in sources),
        "records": len(texts),
        "formats": dict(Counter(s["format"] for s in sources)),
        "fields": fields.summary(),
        "_field_examples": fields.examples,
        "lengths": {"chars": distribution([len(t) for t in texts])},
        "tokens": {
            "tokenizer": counter.name,
            "all": distribution(tokens),
            "by_role": {r: distribution(counter.count(v)) for r, v in role_texts.items()},
        },
        "conversations": convs.summary(),
        "languages": dict(text_stats.languages.most_common()),
        "encoding": {
            "problems": dict(text_stats.encoding),
            "repairable": text_stats.encoding.get("mojibake", 0),
            "examples": text_stats.examples,
            "files": {s["path"]: s["encoding"] for s in sources},
        },
        "duplicates": duplicates(texts, where, dedup),
        "rejections": {
            "total": sum(rejected.values()),
            "top": [
                {"reason": r, "count": c, "examples": rej_examples[r]}
                for r, c in rejected.most_common(10)
            ],
        },
    }
    report["problems"] = problems(report)
    report.pop("_field_examples")
    return report


def _reject(counter: Counter, examples: dict, reason: str, loc: list, detail: str) -> None:
    counter[reason] += 1
    ex = examples.setdefault(reason, [])
    if len(ex) < EXAMPLES:
        ex.append({"source": loc, "detail": snippet(detail)})


def is_dataset_dir(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / "manifest.json").is_file()
