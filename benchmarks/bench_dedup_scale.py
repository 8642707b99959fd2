"""Memory and time of the global step (dedup, splits, leakage check) as rows grow.

Synthetic key tables as pass 1 writes them (row_id, exact_hash, minhash[128], n_chars,
stratum), in shards of 100k rows: random signatures, with 5% of rows exact copies of an
earlier row and 5% near copies (10% of the signature values changed, estimated Jaccard 0.9).
Each size runs `forge.data.globalstep.run_global` (what `forge prepare` runs between the
passes: default config, but a stratified split) in a fresh process so its peak RSS is its
own. The goal is memory that does not grow with the rows (the key tables and bucket tables
live on disk, DuckDB spills).

Run: PYTHONPATH=src python benchmarks/bench_dedup_scale.py --rows 500000 2000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SHARD = 100_000
NUM_PERM = 128


def generate(n: int, folder: Path, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    files = []
    for s in range(0, n, SHARD):
        m = min(SHARD, n - s)
        ids = np.arange(s, s + m, dtype=np.int64)
        sig = rng.integers(0, 2**32, size=(m, NUM_PERM), dtype=np.uint32)
        h = rng.integers(0, 2**63, size=m, dtype=np.uint64)
        # Copies point at rows of the same shard, so one shard is self-contained to build.
        exact = rng.random(m) < 0.05
        near = (rng.random(m) < 0.05) & ~exact
        src = (rng.random(m) * np.arange(m)).astype(np.int64)
        ok = np.arange(m) > 0
        exact &= ok
        near &= ok
        sig[exact] = sig[src[exact]]
        h[exact] = h[src[exact]]
        sig[near] = sig[src[near]]
        change = rng.random((int(near.sum()), NUM_PERM)) < 0.1
        noise = rng.integers(0, 2**32, size=change.shape, dtype=np.uint32)
        sig[near] = np.where(change, noise, sig[near])
        table = pa.table(
            {
                "row_id": ids,
                "exact_hash": pa.array(h, pa.uint64()),
                "minhash": pa.FixedSizeListArray.from_arrays(pa.array(sig.reshape(-1)), NUM_PERM),
                "n_chars": rng.integers(10, 2000, size=m),
                "stratum": pa.array(np.where(rng.random(m) < 0.3, "a", "b")),
            }
        )
        path = folder / f"keys-{s // SHARD:05d}.parquet"
        pq.write_table(table, path)
        files.append(path)
    return files


def child(folder: str, memory_limit: str | None) -> None:
    from forge.config.data import PreprocessingConfig
    from forge.data.globalstep import run_global

    files = sorted(Path(folder).glob("keys-*.parquet"))
    work = Path(folder) / "work"
    limits = {"memory_limit": memory_limit} if memory_limit else {}
    pre = PreprocessingConfig(
        dedup=limits,
        split={"method": "stratified", "stratify_by": "x", "validation": 0.05, **limits},
    )
    # what `forge prepare` runs between the passes: dedup, splits, balance, leakage check
    t0 = time.perf_counter()
    dups, splits, info = run_global(files, pre, work)
    t2 = time.perf_counter()
    kinds = dict(
        zip(
            *np.unique(dups.column("kind").to_numpy(zero_copy_only=False), return_counts=True),
            strict=True,
        )
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "global_s": t2 - t0,
                "leakage_ok": info["leakage"]["ok"],
                "peak_mb": peak,
                "removed": {k: int(v) for k, v in kinds.items()},
                "kept": splits.num_rows,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[500_000, 2_000_000])
    ap.add_argument("--memory-limit", help="dedup/split memory_limit (default: the config's)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.memory_limit)
        return
    results = []
    for n in args.rows:
        with tempfile.TemporaryDirectory(prefix="forge-scale-") as tmp:
            generate(n, Path(tmp))
            cmd = [sys.executable, __file__, "--child", tmp]
            if args.memory_limit:
                cmd += ["--memory-limit", args.memory_limit]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode:
                sys.exit(out.stderr)
            r = json.loads(out.stdout.strip().splitlines()[-1])
        results.append((n, r))
        print(
            f"{n:>10,} rows: global step {r['global_s']:.1f}s ({n / r['global_s']:,.0f} rows/s),"
            f" peak RSS {r['peak_mb']:.0f} MB, removed {r['removed']}, kept {r['kept']:,}, "
            f"leakage ok: {r['leakage_ok']}"
        )
    if len(results) > 1:
        (n0, a), (n1, b) = results[0], results[-1]
        print(f"rows x{n1 / n0:.1f} -> peak RSS x{b['peak_mb'] / a['peak_mb']:.2f}")


if __name__ == "__main__":
    main()
