"""The final step: assemble the shard parts into the prepared-data layout
(docs/prepared-data.md), in shard order, each file written under a temporary name and renamed.

Every step here can run again after a kill: it reads only the finished shard folders.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from forge.data.model_side import eot_id
from forge.data.pqjoin import join
from forge.data.shardio import OUTPUT_PARQUET, Ctx, atomic_write_bytes, shard_dir

SPLIT_ORDER = ("train", "validation", "test")


def ordered_splits(names: set[str]) -> list[str]:
    return [s for s in SPLIT_ORDER if s in names] + sorted(names - set(SPLIT_ORDER))


def concat_rejected(work: Path, n_shards: int, out: Path) -> int:
    tmp = out / "rejected.jsonl.tmp"
    n = 0
    with open(tmp, "wb") as w:
        for stage in ("pass1", "pass2"):
            for i in range(n_shards):
                with open(shard_dir(work, stage, i) / "rejected.jsonl", "rb") as r:
                    while block := r.read(1 << 20):
                        n += block.count(b"\n")
                        w.write(block)
    tmp.replace(out / "rejected.jsonl")
    return n


def _chat_split(work: Path, n_shards: int, split: str, out: Path, ctx: Ctx) -> list[str]:
    parts = [shard_dir(work, "pass2", i) / f"{split}.parquet" for i in range(n_shards)]
    parts = [p for p in parts if p.exists()]
    target = out / f"{split}.parquet"
    tmp = out / f"{split}.parquet.tmp"
    files = [target.name]
    if ctx.pre.packing.enabled:
        from forge.data.pack import pack_table

        table = pa.concat_tables(pq.read_table(p) for p in parts)
        length = ctx.pre.packing.max_length or ctx.max_tokens or ctx.model.max_length
        pq.write_table(pack_table(table, length), tmp, **OUTPUT_PARQUET)
    else:
        # the parts are written with the outputs' options: their row groups are copied as
        # they are, not read and encoded again
        join(parts, tmp)
    tmp.replace(target)
    if "jsonl" in ctx.pre.outputs:
        jtmp = out / f"{split}.jsonl.tmp"
        with open(jtmp, "wb") as w:
            for batch in pq.ParquetFile(target).iter_batches(batch_size=1000):
                for row in batch.to_pylist():
                    w.write(orjson.dumps(row) + b"\n")
        jtmp.replace(out / f"{split}.jsonl")
        files.append(f"{split}.jsonl")
    return files


def _token_split(
    work: Path, n_shards: int, split: str, out: Path, tok: Any, dtype: Any
) -> list[str]:
    folder = out / "tokens" / split
    folder.mkdir(parents=True, exist_ok=True)
    shards = []
    for i in range(n_shards):
        lens_file = shard_dir(work, "pass2", i) / f"lengths-{split}.npy"
        if not lens_file.exists():
            continue
        lens = np.load(lens_file)
        if not len(lens):
            continue
        src = shard_dir(work, "pass2", i) / f"{split}.bin"
        dst = folder / f"shard-{i:05d}.bin"
        if src.exists():
            src.replace(dst)  # a rename: after a kill, a moved part is already in place
        shards.append({"file": dst.name, "tokens": int(lens.sum()), "documents": int(len(lens))})
    index = {
        "dtype": np.dtype(dtype).name,
        "vocab_size": tok.vocab_size,
        "eot_id": eot_id(tok),
        "shards": shards,
    }
    atomic_write_bytes(folder / "index.json", orjson.dumps(index, option=orjson.OPT_INDENT_2))
    return [f"tokens/{split}/{s['file']}" for s in shards] + [f"tokens/{split}/index.json"]


def token_stats(work: Path, n_shards: int, split: str) -> dict[str, Any]:
    arrs = [
        np.load(p)
        for i in range(n_shards)
        if (p := shard_dir(work, "pass2", i) / f"lengths-{split}.npy").exists()
    ]
    a = np.concatenate(arrs) if arrs else np.zeros(0, np.int32)
    if not len(a):
        return {"total": 0, "rows": 0}
    return {
        "total": int(a.sum()),
        "rows": int(len(a)),
        "mean": round(float(a.mean()), 2),
        "p50": int(np.percentile(a, 50)),
        "p95": int(np.percentile(a, 95)),
        "max": int(a.max()),
    }


def write_outputs(
    ctx: Ctx, splits: set[str], tok: Any, dtype: Any
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    work, out = Path(ctx.work), Path(ctx.out)
    n = len(ctx.plan.shards)
    files: dict[str, list[str]] = {}
    tokens: dict[str, Any] = {}
    for split in ordered_splits(splits):
        if ctx.plan.kind == "chat":
            files[split] = _chat_split(work, n, split, out, ctx)
        else:
            files[split] = _token_split(work, n, split, out, tok, dtype)
        tokens[split] = token_stats(work, n, split)
    if ctx.plan.kind == "chat":
        # not listed in the manifest's files: readers of the contract see splits only, and the
        # report scans the rows when the file is absent
        _write_report_stats(work, n, ordered_splits(splits), out)
    return files, tokens


def _write_report_stats(work: Path, n_shards: int, splits: list[str], out: Path) -> bool:
    """Merge the shards' report partials (pass 2 wrote one per shard when a report is wanted
    and rows are not packed) into report-stats.json; False when there are none."""
    from forge.data.pass2 import REPORT_PARTIAL
    from forge.data.report import partial

    paths = [shard_dir(work, "pass2", i) / REPORT_PARTIAL for i in range(n_shards)]
    if not paths or not all(p.is_file() for p in paths):
        return False
    parts = [orjson.loads(p.read_bytes()) for p in paths]
    partial.write(out / partial.FILE, partial.merge(parts, splits))
    return True


def clear_outputs(out: Path) -> None:
    """Remove what an earlier, different run left (only names forge writes)."""
    for p in out.glob("*.parquet"):
        p.unlink()
    for p in out.glob("*.jsonl"):
        p.unlink()
    for p in out.glob("*.tmp"):
        p.unlink()  # a file a killed run was writing
    for name in ("manifest.json", "report.json", "report.html", "report-stats.json"):
        (out / name).unlink(missing_ok=True)
    for d in ("tokens", "tokenizer"):
        if (out / d).is_dir():
            shutil.rmtree(out / d)
