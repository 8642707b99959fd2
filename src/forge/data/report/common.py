"""Pieces both report modes share: duplicate analysis over texts, cross-split leakage over
texts, the per-text measurements (language, encoding), and the problem list."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from forge.config.quality import DedupConfig
from forge.data.dedup import find_duplicates, key_table
from forge.data.report.stats import (
    EXAMPLES,
    any_control_chars,
    distribution,
    encoding_problems,
    language,
    languages,
    snippet,
)
from forge.data.shardio import SCRATCH_PARQUET

CLUSTERS = 10
_CHUNK = 8192


class TextStats:
    """Language mix and encoding problems over texts, with examples of each problem."""

    def __init__(self) -> None:
        self.languages: Counter[str] = Counter()
        self.encoding: Counter[str] = Counter()
        self.examples: dict[str, list[dict[str, Any]]] = {}

    def add(self, text: str, where: Any) -> None:
        self.languages[language(text)] += 1
        self._encoding(text, where, encoding_problems(text))

    def add_many(self, texts: list[str], wheres: list[Any]) -> None:
        """`add` for each text in order (the languages guessed for the whole batch at once)."""
        counts = self.languages
        # control characters (NUL too) looked for once over the whole batch: most have none,
        # and then an ASCII text has no problem at all
        control = any_control_chars(texts)
        for text, where, lang in zip(texts, wheres, languages(texts), strict=True):
            counts[lang] += 1
            if control or not text.isascii():
                found = encoding_problems(text)
                if found:
                    self._encoding(text, where, found)

    def _encoding(self, text: str, where: Any, found: list[str]) -> None:
        for code in found:
            self.encoding[code] += 1
            ex = self.examples.setdefault(code, [])
            if len(ex) < EXAMPLES:
                ex.append({"source": where, "text": snippet(_visible(text))})


def _visible(text: str) -> str:
    return "".join(c if c.isprintable() or c in "\n\t" else f"\\x{ord(c):02x}" for c in text)


def _key_files(texts: list[str], ids: list[int], cfg: DedupConfig, folder: Path) -> list[Path]:
    files = []
    for s in range(0, len(texts), _CHUNK):
        path = folder / f"keys-{s // _CHUNK:06d}.parquet"
        table = key_table(ids[s : s + _CHUNK], texts[s : s + _CHUNK], cfg)
        pq.write_table(table, path, **SCRATCH_PARQUET)
        files.append(path)
    return files


def duplicates(
    texts: list[str], where: list[Any], cfg: DedupConfig | None = None
) -> dict[str, Any]:
    """Exact and near duplicate rates over `texts`, and the largest clusters with examples.

    Runs the same find_duplicates `forge prepare` runs, on key tables in a temporary folder.
    """
    cfg = cfg or DedupConfig()
    n = len(texts)
    if n == 0:
        return {"rows": 0, "exact": 0, "near": 0, "exact_rate": 0.0, "near_rate": 0.0}
    ids = list(range(n))
    with tempfile.TemporaryDirectory(prefix="forge-inspect-") as tmp:
        files = _key_files(texts, ids, cfg, Path(tmp))
        dups = find_duplicates(files, cfg, Path(tmp) / "work")
    return summarize_duplicates(dups, n, lambda i: texts[i], lambda i: where[i], cfg)


def summarize_duplicates(
    dups: pa.Table, rows: int, text_of, where_of, cfg: DedupConfig
) -> dict[str, Any]:
    kinds = Counter(dups.column("kind").to_pylist())
    members: dict[int, list[int]] = {}
    kind_of: dict[int, str] = {}
    for rid, dup, kind in zip(
        dups.column("row_id").to_pylist(),
        dups.column("dup_of").to_pylist(),
        dups.column("kind").to_pylist(),
        strict=True,
    ):
        members.setdefault(dup, []).append(rid)
        kind_of[rid] = kind
    top = sorted(members.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:CLUSTERS]
    clusters = []
    for kept, rest in top:
        clusters.append(
            {
                "kept": {"source": where_of(kept), "text": snippet(text_of(kept))},
                "size": 1 + len(rest),
                "removed": [
                    {"source": where_of(r), "text": snippet(text_of(r)), "kind": kind_of[r]}
                    for r in rest[:EXAMPLES]
                ],
            }
        )
    return {
        "rows": rows,
        "exact": kinds["exact"],
        "near": kinds["near"],
        "exact_rate": round(kinds["exact"] / rows, 4) if rows else 0.0,
        "near_rate": round(kinds["near"] / rows, 4) if rows else 0.0,
        "threshold": cfg.threshold,
        "clusters": clusters,
        "cluster_sizes": distribution([1 + len(r) for r in members.values()]),
    }


def problems(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every problem the report found, largest first, with its examples."""
    out: list[dict[str, Any]] = []
    for field, s in (report.get("fields") or {}).items():
        for kind in ("missing", "empty"):
            if s.get(kind) and s[kind] < s.get("rows", report.get("rows", 0)):
                out.append(
                    {
                        "code": f"{kind}_value",
                        "field": field,
                        "count": s[kind],
                        "examples": report.get("_field_examples", {}).get(f"{kind}:{field}", []),
                    }
                )
    enc = report.get("encoding") or {}
    for code, count in (enc.get("problems") or {}).items():
        out.append(
            {
                "code": f"encoding_{code}",
                "count": count,
                "examples": enc.get("examples", {}).get(code, []),
            }
        )
    d = report.get("duplicates") or {}
    for kind in ("exact", "near"):
        if d.get(kind):
            ex = [
                {"source": m["source"], "text": m.get("text"), "duplicate_of": c["kept"]["source"]}
                for c in d.get("clusters", [])
                for m in c["removed"]
                if m.get("kind") == kind
            ][:EXAMPLES]
            out.append({"code": f"{kind}_duplicate", "count": d[kind], "examples": ex})
    for r in (report.get("rejections") or {}).get("top", []):
        if "duplicate" in r["reason"]:  # already listed above, with their clusters
            continue
        out.append(
            {
                "code": f"rejected_{r['reason']}",
                "count": r["count"],
                "examples": r.get("examples", []),
            }
        )
    leak = report.get("leakage") or {}
    crossing = leak.get("exact_pairs", 0) + leak.get("near_pairs", 0)
    if crossing:
        out.append(
            {
                "code": "cross_split_duplicate",
                "count": crossing,
                "examples": leak.get("examples", [])[:EXAMPLES],
            }
        )
    conv = report.get("conversations") or {}
    if conv.get("empty_messages"):
        out.append({"code": "empty_message", "count": conv["empty_messages"], "examples": []})
    return sorted(out, key=lambda p: -p["count"])
