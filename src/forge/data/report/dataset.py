"""The quality report of a prepared dataset folder (docs/prepared-data.md): manifest.json,
rejected.jsonl, one Parquet file (or folder of parts) per split, token shards."""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from forge import __version__
from forge.config.quality import DedupConfig
from forge.data.dedup import key_table
from forge.data.report import partial
from forge.data.report.common import problems
from forge.data.report.dups import Clusters, Dups
from forge.data.report.dups import summary as dup_summary
from forge.data.report.splitscan import Scan
from forge.data.report.stats import EXAMPLES, snippet
from forge.data.shardio import SCRATCH_PARQUET
from forge.data.split import check_leakage
from forge.errors import ForgeError

SPLIT_ORDER = ("train", "validation", "test")
LEAKAGE_MAX_ROWS = 200_000
_DUP_OF = re.compile(r"duplicate of row (-?\d+)")


def _split_files(root: Path, manifest: dict[str, Any]) -> dict[str, list[Path]]:
    files = manifest.get("files") or {}
    out: dict[str, list[Path]] = {}
    for split, names in files.items():
        names = names if isinstance(names, list) else [names]
        paths = [root / n for n in names if isinstance(n, str)]
        paths = [p for p in paths if p.suffix == ".parquet" and p.is_file()]
        if paths:
            out[split] = paths
    if not out:
        for p in sorted(root.glob("*.parquet")):
            out.setdefault(p.stem, []).append(p)
        for d in sorted(x for x in root.iterdir() if x.is_dir() and x.name != "tokens"):
            parts = sorted(d.glob("*.parquet"))
            if parts:
                out.setdefault(d.name, []).extend(parts)
    order = {s: i for i, s in enumerate(SPLIT_ORDER)}
    return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], 9), kv[0])))


def _rejections(path: Path) -> tuple[dict[str, Any], Dups]:
    """Top reasons with examples, and the dedup rows (row_id, dup_of, kind, where)."""
    counts: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    examples: dict[str, list[dict[str, Any]]] = {}
    dups = Dups(path)
    if path.is_file():
        with open(path, "rb") as f:
            offset = 0
            for line in f:
                start, offset = offset, offset + len(line)
                if not line.strip():
                    continue
                try:
                    r = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                reason = str(r.get("reason", "unknown"))
                counts[reason] += 1
                stages[str(r.get("stage", ""))] += 1
                ex = examples.setdefault(reason, [])
                if len(ex) < EXAMPLES:
                    ex.append({"source": r.get("source"), "detail": snippet(r.get("detail", ""))})
                if r.get("stage") == "dedup" or "duplicate" in reason:
                    m = _DUP_OF.search(str(r.get("detail", "")))
                    dup_of = r.get("dup_of", int(m.group(1)) if m else None)
                    dups.add(r.get("row_id"), dup_of, "near" in reason, start)
    top = [{"reason": r, "count": c, "examples": examples[r]} for r, c in counts.most_common(10)]
    return {"total": sum(counts.values()), "by_stage": dict(stages), "top": top}, dups


def _leakage(texts: list[str], split_of: list[str], where: list[Any]) -> dict[str, Any]:
    """Exact and near duplicates across splits of the prepared rows themselves."""
    if len(texts) > LEAKAGE_MAX_ROWS:
        return {"checked": False, "reason": f"more than {LEAKAGE_MAX_ROWS} rows"}
    cfg = DedupConfig()
    with tempfile.TemporaryDirectory(prefix="forge-report-") as tmp:
        key = Path(tmp) / "keys.parquet"
        pq.write_table(key_table(list(range(len(texts))), texts, cfg), key, **SCRATCH_PARQUET)
        splits = pa.table({"row_id": np.arange(len(texts), dtype=np.int64), "split": split_of})
        out = check_leakage([key], splits, cfg, Path(tmp))
    for ex in out["examples"]:
        ex["source_a"], ex["source_b"] = where[ex["a"]], where[ex["b"]]
        ex["text_a"], ex["text_b"] = snippet(texts[ex["a"]]), snippet(texts[ex["b"]])
    return {"checked": True, **out}


def _check_manifest(path: Path, manifest: Any) -> None:
    """The parts of manifest.json the report reads have the shapes docs/prepared-data.md gives."""
    if not isinstance(manifest, dict):
        raise ForgeError(
            f"{path}: expected a JSON object, got {type(manifest).__name__}",
            "prepare the dataset again",
        )
    for key in ("files", "counts", "global_step"):
        if manifest.get(key) is not None and not isinstance(manifest[key], dict):
            raise ForgeError(
                f"{path}: `{key}` must be an object, got {type(manifest[key]).__name__}",
                "prepare the dataset again",
            )


def _num_rows(path: Path) -> int:
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (pa.ArrowException, OSError) as e:
        raise ForgeError(
            f"{path}: not a readable Parquet file ({e})", "prepare the dataset again"
        ) from None


def dataset_report(root: Path) -> dict[str, Any]:
    root = Path(root)
    mpath = root / "manifest.json"
    if not mpath.is_file():
        raise ForgeError(
            f"{root}: not a prepared dataset (no manifest.json)",
            "run `forge prepare` first, or pass raw files to `forge inspect`",
        )
    try:
        manifest = orjson.loads(mpath.read_bytes())
    except orjson.JSONDecodeError as e:
        raise ForgeError(f"{mpath}: not valid JSON ({e})", "prepare the dataset again") from e
    _check_manifest(mpath, manifest)
    rejections, dups = _rejections(root / "rejected.jsonl")
    counts = manifest.get("counts") or {}
    clusters = Clusters(dups)
    want = clusters.kept_ids()
    # prepare checks leakage on its key tables with the dedup config it ran; use that, and
    # check the written rows only when the manifest does not say (and they are few enough).
    leak = (manifest.get("global_step") or {}).get("leakage")
    files = _split_files(root, manifest)
    total = sum(_num_rows(p) for ps in files.values() for p in ps)
    keep_texts = leak is None and 0 < total <= LEAKAGE_MAX_ROWS
    rows_stats = None if keep_texts else _partials(root, files)
    if rows_stats is not None:
        # prepare measured every row in pass 2: merge its partials, decode no row again
        splits: dict[str, Any] = {
            name: {
                **partial.split_entry(rows_stats["splits"][name]),
                "files": [p.name for p in paths],
            }
            for name, paths in files.items()
        }
        convs, text_stats, measured = partial.whole(rows_stats)
        texts_by_id = partial.texts_of(files, want)
    else:
        scan = Scan(total, want, keep_texts=keep_texts)
        splits = {name: scan.split(name, paths) for name, paths in files.items()}
        convs, text_stats, texts_by_id = scan.convs, scan.text, scan.texts_by_id
        measured = scan.seen // scan.stride if scan.sampled else scan.seen
    for split, idx in _token_shards(root).items():
        splits.setdefault(split, {}).update(idx)
    if isinstance(leak, dict):
        leakage = {"checked": True, "by": "forge prepare", **leak}
    elif keep_texts:
        leakage = _leakage(scan.texts, scan.split_of, scan.where)
    else:
        leakage = {"checked": False, "reason": f"no leakage check in the manifest and {total} rows"}
    report: dict[str, Any] = {
        "kind": "dataset",
        "forge_version": __version__,
        "path": str(root),
        "name": manifest.get("name"),
        "model": manifest.get("model"),
        "template": manifest.get("template"),
        "sources": _sources(manifest),
        "rows": sum(s.get("rows", 0) for s in splits.values()),
        "input_rows": (counts.get("read") or {}).get("in"),
        "counts": counts,
        "splits": splits,
        "tokens": {"by_split": {s: e["tokens"] for s, e in splits.items() if "tokens" in e}},
        "conversations": convs.summary(),
        "languages": dict(text_stats.languages.most_common()),
        "encoding": {
            "problems": dict(text_stats.encoding),
            "examples": text_stats.examples,
            "repaired": (manifest.get("repairs") or {}).get("encoding_repaired"),
        },
        "duplicates": dup_summary(
            dups,
            clusters,
            _stage_count(counts, "dedup", "in") or (total + len(dups)) or 1,
            texts_by_id,
        ),
        "text_rows_measured": measured,
        "rejections": rejections,
        "leakage": leakage,
    }
    report["problems"] = problems(report)
    return report


def _partials(root: Path, files: dict[str, list[Path]]) -> dict[str, Any] | None:
    """report-stats.json when it describes exactly these split files (the same splits, the
    same row counts); None otherwise, and the report scans the rows."""
    data = partial.read(root / partial.FILE)
    if data is None or set(data["splits"]) != set(files):
        return None
    for name, paths in files.items():
        if data["splits"][name]["rows"] != sum(_num_rows(p) for p in paths):
            return None
        if "seq_lengths" in pq.ParquetFile(paths[0]).schema_arrow.names:  # packed rows
            return None
    return data


def _sources(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per input: its path, format and encoding when the manifest says them."""
    out = []
    for s in manifest.get("sources") or []:
        files = s.get("files") or [{"path": s.get("path")}]
        for f in files:
            out.append(
                {
                    "path": f.get("path"),
                    "format": s.get("format"),
                    "confidence": s.get("confidence"),
                    "encoding": f.get("encoding"),
                }
            )
    if out:
        return out
    return [{"path": i.get("path"), "bytes": i.get("bytes")} for i in manifest.get("inputs") or []]


def _token_shards(root: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for idx in sorted((root / "tokens").glob("*/index.json")):
        try:
            meta = orjson.loads(idx.read_bytes())
        except orjson.JSONDecodeError:
            continue
        shards = meta.get("shards") or []
        out[idx.parent.name] = {
            "tokens_total": sum(int(s.get("tokens", 0)) for s in shards),
            "documents": sum(int(s.get("documents", 0)) for s in shards),
            "shards": len(shards),
            "dtype": meta.get("dtype"),
        }
    return out


def _stage_count(counts: dict[str, Any], stage: str, key: str) -> int | None:
    v = (counts.get(stage) or {}).get(key) if isinstance(counts.get(stage), dict) else None
    return int(v) if isinstance(v, (int, float)) else None
