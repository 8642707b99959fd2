"""The report's duplicate summary from numeric columns equals the one the per-row dicts gave."""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import orjson

from forge.data.report.common import CLUSTERS
from forge.data.report.dataset import _rejections
from forge.data.report.dups import Clusters
from forge.data.report.dups import summary as dup_summary
from forge.data.report.stats import EXAMPLES, distribution, snippet

_DUP_OF = re.compile(r"duplicate of row (-?\d+)")


def _reference(path: Path, seen: int, texts_by_id: dict) -> tuple[set[str], dict]:
    """The summary as the report computed it with a dict per removed row."""
    dups = []
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        r = orjson.loads(line)
        reason = str(r.get("reason", "unknown"))
        if r.get("stage") == "dedup" or "duplicate" in reason:
            m = _DUP_OF.search(str(r.get("detail", "")))
            dups.append(
                {
                    "row_id": r.get("row_id"),
                    "dup_of": r.get("dup_of", int(m.group(1)) if m else None),
                    "kind": "near" if "near" in reason else "exact",
                    "source": r.get("source"),
                }
            )
    members: dict = {}
    for d in dups:
        members.setdefault(d["dup_of"], []).append(d)
    members = sorted(members.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))
    kinds = Counter(d["kind"] for d in dups)
    clusters = []
    for kept, rest in members[:CLUSTERS]:
        text = texts_by_id.get(str(kept))
        clusters.append(
            {
                "kept": {
                    "row_id": str(kept),
                    "text": snippet(text) if text is not None else None,
                    "source": None,
                },
                "size": 1 + len(rest),
                "removed": [
                    {"source": r["source"], "row_id": str(r["row_id"]), "kind": r["kind"]}
                    for r in rest[:EXAMPLES]
                ],
            }
        )
    return {str(k) for k, _ in members[:CLUSTERS]}, {
        "rows": seen,
        "exact": kinds["exact"],
        "near": kinds["near"],
        "exact_rate": round(kinds["exact"] / seen, 4),
        "near_rate": round(kinds["near"] / seen, 4),
        "clusters": clusters,
        "cluster_sizes": distribution([1 + len(r) for _, r in members]),
    }


def _write_rejected(path: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        kept = rng.choice([rng.randrange(0, 40), rng.randrange(0, 4000)])
        near = rng.random() < 0.6
        rec = {
            "source": [f"/data/part-{i % 3}.jsonl", i + 1],
            "stage": "dedup",
            "reason": "near_duplicate" if near else "duplicate",
            "detail": f"duplicate of row {kept}",
            "row_id": 10_000 + i,
        }
        lines.append(orjson.dumps(rec))
        if i % 17 == 0:  # other rejections in between, and a blank line
            lines.append(orjson.dumps({"source": ["x", i], "stage": "filter", "reason": "short"}))
            lines.append(b"")
    # odd rows an edited file may hold: no kept row, a string id, a dup_of key of its own
    lines.append(orjson.dumps({"stage": "dedup", "reason": "duplicate", "detail": "?"}))
    lines.append(orjson.dumps({"stage": "dedup", "reason": "duplicate", "row_id": "r-1"}))
    lines.append(orjson.dumps({"reason": "near_duplicate", "row_id": 5, "dup_of": 7}))
    path.write_bytes(b"\n".join(lines) + b"\n")


def _numeric(path: Path, seen: int, texts_by_id: dict) -> tuple[set[str], dict]:
    _, dups = _rejections(path)
    clusters = Clusters(dups)
    return clusters.kept_ids(), dup_summary(dups, clusters, seen, texts_by_id)


def test_numeric_columns_match_the_per_row_dicts(tmp_path):
    path = tmp_path / "rejected.jsonl"
    for n, seed in ((0, 0), (5, 1), (3000, 2)):
        _write_rejected(path, n, seed)
        texts = {"3": "kept text three", "7": "seven"}
        want_ids, want = _reference(path, 50_000, texts)
        got_ids, got = _numeric(path, 50_000, texts)
        assert got_ids == want_ids
        assert orjson.dumps(got) == orjson.dumps(want)


def test_ties_in_cluster_size_break_by_the_kept_id_as_text(tmp_path):
    path = tmp_path / "rejected.jsonl"
    # 30 clusters of two rows each: the top CLUSTERS are the kept ids smallest as text
    rows = [
        {"stage": "dedup", "reason": "duplicate", "row_id": 100 + i, "dup_of": k, "source": [i]}
        for i, k in enumerate(range(30))
    ]
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    want_ids, want = _reference(path, 1000, {})
    got_ids, got = _numeric(path, 1000, {})
    assert [c["kept"]["row_id"] for c in got["clusters"]] == sorted(str(k) for k in range(30))[
        :CLUSTERS
    ]
    assert got == want and got_ids == want_ids
