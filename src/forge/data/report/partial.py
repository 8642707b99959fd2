"""The report's per-row measurements as small mergeable partials.

`forge prepare` measures each row in pass 2, in the parallel workers, while the row is in
memory (`RowStats`), and writes one partial per shard; the final step merges them in split and
shard order into ``report-stats.json`` next to the data. The report then reads that file instead
of decoding every row again (forge.data.report.splitscan stays the fallback, for folders without
it and for packed data, whose rows are not pass 2's rows).

Distributions are kept as exact value -> count tables (token, trainable-token and character
counts, turns, message lengths), so percentiles and histograms equal those of a full scan.
Counters keep first-seen order and examples keep the first few in scan order (split, then
shard, then row), so ties and examples come out as a scan would give them. Text measurements
(language, encoding) cover every row up to TEXT_ROWS; beyond, a deterministic sample chosen by
a hash of the row id, about TEXT_ROWS rows in all.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import xxhash

from forge.data.report.common import TextStats
from forge.data.report.stats import EXAMPLES, ConversationStats, distribution

FILE = "report-stats.json"
VERSION = 1


def text_stride(rows: int) -> int:
    """Measure one row in `stride` (1 up to splitscan.TEXT_ROWS rows, the scan's own bound)."""
    from forge.data.report import splitscan

    return max(1, -(-rows // splitscan.TEXT_ROWS))


def measured(row_id: str, stride: int) -> bool:
    return stride == 1 or xxhash.xxh64_intdigest(row_id.encode()) % stride == 0


def measured_text(messages: list[dict[str, Any]] | None, text: str | None) -> str:
    """The text measured and compared for a row, as dedup compares rows: `role: content` per
    message (the rendered text would add the template's markers to every row)."""
    if messages:
        return "\n".join([f"{x.get('role')}: {x.get('content') or ''}" for x in messages])
    return text or ""


def _counts(values: np.ndarray) -> dict[str, list[int]]:
    v, c = np.unique(np.asarray(values, np.int64), return_counts=True)
    return {"v": v.tolist(), "c": c.tolist()}


def _merge_counts(parts: list[dict[str, list[int]]]) -> dict[str, list[int]]:
    parts = [p for p in parts if p["v"]]
    if not parts:
        return {"v": [], "c": []}
    v = np.concatenate([np.asarray(p["v"], np.int64) for p in parts])
    c = np.concatenate([np.asarray(p["c"], np.int64) for p in parts])
    uv, inv = np.unique(v, return_inverse=True)
    return {"v": uv.tolist(), "c": np.bincount(inv, weights=c).astype(np.int64).tolist()}


def _expand(counts: dict[str, list[int]]) -> np.ndarray:
    return np.repeat(np.asarray(counts["v"], np.int64), np.asarray(counts["c"], np.int64))


def _pairs(counter: Counter) -> list[list[Any]]:
    return [[k, v] for k, v in counter.items()]  # insertion (first-seen) order


class RowStats:
    """One shard's measurements, per split (JSON-ready with `to_dict`)."""

    def __init__(self, stride: int):
        self.stride = stride
        self.splits: dict[str, dict[str, Any]] = {}

    def _split(self, name: str) -> dict[str, Any]:
        if name not in self.splits:
            self.splits[name] = {
                "rows": 0,
                "tokens": [],
                "trainable": [],
                "chars": [],
                "measured": 0,
                "convs": ConversationStats(),
                "text": TextStats(),
            }
        return self.splits[name]

    def add(
        self,
        split: str,
        tokens: np.ndarray,
        trainable: np.ndarray,
        texts: list[str],
        messages: list[list[dict[str, Any]] | None],
        ids: list[str],
    ) -> None:
        s = self._split(split)
        s["rows"] += len(ids)
        s["tokens"].append(np.asarray(tokens, np.int64))
        s["trainable"].append(np.asarray(trainable, np.int64))
        s["chars"].append(np.fromiter((len(t) for t in texts), np.int64, len(texts)))
        picked, where = [], []
        convs: ConversationStats = s["convs"]
        stride = self.stride
        for text, msgs, rid in zip(texts, messages, ids, strict=True):
            if stride != 1 and not measured(rid, stride):
                continue
            if msgs is not None:
                convs.add(msgs)
            picked.append(measured_text(msgs, text))
            where.append([split, rid])
        s["measured"] += len(picked)
        s["text"].add_many(picked, where)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": VERSION, "stride": self.stride, "splits": {}}
        for name, s in self.splits.items():
            cv: ConversationStats = s["convs"]
            tx: TextStats = s["text"]
            out["splits"][name] = {
                "rows": s["rows"],
                "tokens": _counts(np.concatenate(s["tokens"])),
                "trainable": _counts(np.concatenate(s["trainable"])),
                "chars": _counts(np.concatenate(s["chars"])),
                "measured": s["measured"],
                "turns": _counts(np.asarray(cv.turns, np.int64)),
                "role_messages": _pairs(cv.role_messages),
                "role_chars": {
                    r: _counts(np.asarray(v, np.int64)) for r, v in cv.role_chars.items()
                },
                "empty_messages": cv.empty_messages,
                "first_roles": _pairs(cv.first_roles),
                "last_roles": _pairs(cv.last_roles),
                "languages": _pairs(tx.languages),
                "encoding": _pairs(tx.encoding),
                "examples": tx.examples,
            }
        return out


def merge(parts: list[dict[str, Any]], split_order: list[str]) -> dict[str, Any]:
    """Shard partials (in shard order) -> one partial; splits in `split_order`."""
    out: dict[str, Any] = {"version": VERSION, "splits": {}}
    strides = {p["stride"] for p in parts}
    out["stride"] = strides.pop() if len(strides) == 1 else max(strides, default=1)
    for name in split_order:
        ss = [p["splits"][name] for p in parts if name in p["splits"]]
        if not ss:
            continue
        m: dict[str, Any] = {
            "rows": sum(s["rows"] for s in ss),
            "measured": sum(s["measured"] for s in ss),
            "empty_messages": sum(s["empty_messages"] for s in ss),
        }
        for key in ("tokens", "trainable", "chars", "turns"):
            m[key] = _merge_counts([s[key] for s in ss])
        roles = [r for s in ss for r in s["role_chars"]]
        m["role_chars"] = {
            r: _merge_counts([s["role_chars"][r] for s in ss if r in s["role_chars"]])
            for r in dict.fromkeys(roles)
        }
        for key in ("role_messages", "first_roles", "last_roles", "languages", "encoding"):
            acc: Counter = Counter()
            for s in ss:
                acc.update(dict(s[key]))
            m[key] = _pairs(acc)
        examples: dict[str, list] = {}
        for s in ss:
            for code, ex in s["examples"].items():
                examples.setdefault(code, []).extend(ex)
        m["examples"] = {code: ex[:EXAMPLES] for code, ex in examples.items()}
        out["splits"][name] = m
    return out


def write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(orjson.dumps(data))
    tmp.replace(path)


def read(path: Path) -> dict[str, Any] | None:
    """The merged partial, or None when it is absent or not one this version reads."""
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return None
    return data


def split_entry(s: dict[str, Any]) -> dict[str, Any]:
    """The measurements of one split's report entry (as splitscan.Scan.split gives them)."""
    entry: dict[str, Any] = {"rows": s["rows"]}
    if s["rows"]:
        t = _expand(s["tokens"])
        entry["tokens"], entry["tokens_total"] = distribution(t), int(t.sum())
        t = _expand(s["trainable"])
        entry["trainable_tokens"], entry["trainable_total"] = distribution(t), int(t.sum())
        entry["chars"] = distribution(_expand(s["chars"]))
    return entry


def whole(data: dict[str, Any]) -> tuple[ConversationStats, TextStats, int]:
    """Every split's conversation and text measurements as one accumulator each (scan order),
    and how many rows were measured."""
    convs, text = _ConvSummary(), TextStats()
    n = 0
    for s in data["splits"].values():
        n += s["measured"]
        convs.turn_counts.append(s["turns"])
        for role, c in s["role_messages"]:
            convs.role_messages[role] += c
        for role, c in s["role_chars"].items():
            convs.chars.setdefault(role, []).append(c)
        convs.empty_messages += s["empty_messages"]
        for key, target in (("first_roles", convs.first_roles), ("last_roles", convs.last_roles)):
            for k, c in s[key]:
                target[k] += c
        for k, c in s["languages"]:
            text.languages[k] += c
        for k, c in s["encoding"]:
            text.encoding[k] += c
        for code, ex in s["examples"].items():
            have = text.examples.setdefault(code, [])
            have.extend(ex[: EXAMPLES - len(have)])
    return convs, text, n


class _ConvSummary(ConversationStats):
    """ConversationStats whose turns and message lengths come as value -> count tables."""

    def __init__(self) -> None:
        super().__init__()
        self.turn_counts: list[dict[str, list[int]]] = []
        self.chars: dict[str, list[dict[str, list[int]]]] = {}

    def summary(self) -> dict[str, Any] | None:
        self.turns = _expand(_merge_counts(self.turn_counts)).tolist()
        self.role_chars = {r: _expand(_merge_counts(c)) for r, c in self.chars.items()}
        return super().summary()


def texts_of(files: dict[str, list[Path]], want: set[str]) -> dict[str, str]:
    """The measured text of the rows whose `id` is in `want` (the rows that duplicate clusters
    kept): only the `id` column is read in full, then the few row groups holding them."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from forge.data.report.splitscan import messages_of

    out: dict[str, str] = {}
    if not want:
        return out
    wanted = pa.array(sorted(want), pa.string())
    for paths in files.values():
        for path in paths:
            pf = pq.ParquetFile(path)
            names = pf.schema_arrow.names
            if "id" not in names:
                continue
            cols = [c for c in ("id", "text", "messages") if c in names]
            for g in range(pf.num_row_groups):
                ids = pf.read_row_group(g, columns=["id"])["id"].cast(pa.string())
                hit = pc.is_in(ids, value_set=wanted)
                if not pc.any(hit).as_py():
                    continue
                t = pf.read_row_group(g, columns=cols).filter(hit)
                for row in t.to_pylist():
                    msgs = messages_of(row.get("messages"))
                    out[str(row["id"])] = measured_text(msgs, row.get("text"))
    return out
