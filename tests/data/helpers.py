"""Shared checks for prepared outputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

STAGES = ("read", "normalize", "clean", "filter", "dedup", "sample", "encode")


def tree_digest(out: Path) -> dict[str, str]:
    """sha256 of every output file (the quality report is left out: it is not ours to pin)."""
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.name.startswith("report.")
    }


def check_counts(manifest: dict) -> None:
    """in = out + rejected at every stage, stages chain, and rejected.jsonl holds them all."""
    c = manifest["counts"]
    total_rejected = 0
    for stage in STAGES:
        s = c[stage]
        assert s["in"] == s["out"] + s["rejected"], (stage, s)
        total_rejected += s["rejected"]
    assert c["normalize"]["in"] == c["read"]["out"]
    assert c["clean"]["in"] == c["normalize"]["produced"]
    assert c["filter"]["in"] == c["clean"]["out"]
    assert c["dedup"]["in"] == c["filter"]["out"]
    assert c["sample"]["in"] == c["dedup"]["out"]
    assert sum(c["splits"].values()) == c["encode"]["out"]
    assert manifest["rejected"] == total_rejected


def rejected(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
