"""Near-duplicate detection: forge's MinHash LSH against datasketch's MinHashLSH.

The corpus is built here from ../shared/data: real documents (alpaca instructions and
answers, Shakespeare passages, tldr pages), plus planted near-duplicates made by replacing
words of a document until its word 3-gram Jaccard similarity to the original falls near a
target between 0.5 and 1.0. Every planted similarity is then measured exactly.

Truth: every pair whose exact Jaccard similarity (word 3-gram sets, the shingles both
tools are given) is at least the threshold. Pairs across families are checked exactly too
whenever a tool reports one. Reported per tool: precision and recall of the pairs it
reports, recall per similarity band, and rows/s end to end (signatures + index + pairs).

Run: PYTHONPATH=src python benchmarks/bench_dedup.py [--families 2000] [--threshold 0.8]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from forge.config.quality import DedupConfig
from forge.data.dedup import key_table
from forge.data.dedup.find import find_duplicates
from forge.data.dedup.lsh import candidate_pairs, connect, verified_pairs, write_bands

ROOT = Path(__file__).resolve().parents[1]
WORD = re.compile(r"\w+")


def shared_data() -> Path:
    for cand in (ROOT.parent / "shared" / "data", Path(os.environ.get("FORGE_TEST_DATA", "."))):
        if cand.is_dir():
            return cand
    sys.exit("../shared/data not found")


def base_documents(data: Path, limit: int) -> list[str]:
    docs: list[str] = []
    for r in json.loads((data / "chat/alpaca_5000.json").read_text()):
        docs.append(f"{r['instruction']} {r['input']} {r['output']}")
    text = (data / "text/tinyshakespeare.txt").read_text()
    words = text.split()
    docs += [" ".join(words[i : i + 120]) for i in range(0, len(words), 120)]
    for p in sorted((data / "markdown/tldr/pages").rglob("*.md"))[:3000]:
        docs.append(p.read_text(errors="replace"))
    docs = [d for d in docs if len(WORD.findall(d)) >= 40]
    rng = np.random.default_rng(0)
    return [docs[i] for i in rng.permutation(len(docs))[:limit]]


def shingles(text: str, n: int = 3) -> set[str]:
    w = WORD.findall(text.casefold())
    if len(w) < n:
        return {" ".join(w)}
    return {" ".join(w[i : i + n]) for i in range(len(w) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def mutate(text: str, target: float, rng: np.random.Generator) -> str:
    """Replace scattered words so the 3-gram Jaccard with `text` lands near `target`."""
    w = text.split()
    s = max(len(w) - 2, 1)
    destroyed = s * (1 - target) / (1 + target)
    k = max(int(round(destroyed / 3)), 1 if target < 1 else 0)
    for j in rng.choice(len(w), size=min(k, len(w)), replace=False):
        w[j] = f"x{int(rng.integers(1_000_000))}"
    return " ".join(w)


def build(families: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    base = base_documents(shared_data(), families)
    texts, family = [], []
    for f, doc in enumerate(base):
        texts.append(doc)
        family.append(f)
        # A third of the documents get 1-3 planted near-duplicates at targets in [0.5, 1.0].
        if f % 3 == 0:
            for _ in range(int(rng.integers(1, 4))):
                texts.append(mutate(doc, float(rng.uniform(0.5, 1.0)), rng))
                family.append(f)
    order = rng.permutation(len(texts))
    return [texts[i] for i in order], [family[i] for i in order]


def truth_pairs(texts, family, sh, threshold):
    by_family: dict[int, list[int]] = {}
    for i, f in enumerate(family):
        by_family.setdefault(f, []).append(i)
    sims: dict[tuple[int, int], float] = {}
    for members in by_family.values():
        for a, b in combinations(sorted(members), 2):
            sims[(a, b)] = jaccard(sh[a], sh[b])
    truth = {p for p, j in sims.items() if j >= threshold}
    return truth, sims


def score(found: set[tuple[int, int]], truth, sims, sh, threshold) -> dict:
    exact = {}
    for p in found:
        exact[p] = sims[p] if p in sims else jaccard(sh[p[0]], sh[p[1]])
    tp = sum(1 for p in found if exact[p] >= threshold)
    near = sum(1 for p in found if exact[p] >= threshold - 0.1)
    bands = {}
    for lo in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
        hi = {0.5: 0.6, 0.6: 0.7, 0.7: 0.75, 0.75: 0.8, 0.8: 0.85, 0.85: 0.9, 0.9: 0.95}.get(
            lo, 1.01
        )
        band = [p for p, j in sims.items() if lo <= j < hi]
        if band:
            bands[f"{lo:.2f}-{min(hi, 1.0):.2f}"] = (
                sum(1 for p in band if p in found) / len(band),
                len(band),
            )
    return {
        "pairs": len(found),
        "precision": tp / len(found) if found else 1.0,
        "precision_minus_0.1": near / len(found) if found else 1.0,
        "recall": len(found & truth) / len(truth) if truth else 1.0,
        "by_similarity": bands,
    }


def run_forge(texts, cfg: DedupConfig, work: Path):
    t0 = time.perf_counter()
    ids = list(range(len(texts)))
    files = []
    for s in range(0, len(texts), 4096):  # shards, as pass 1 writes them
        path = work / f"keys-{s:08d}.parquet"
        pq.write_table(key_table(ids[s : s + 4096], texts[s : s + 4096], cfg), path)
        files.append(path)
    t_sig = time.perf_counter() - t0
    con = connect(work / "lsh", cfg)
    bands = write_bands(files, cfg, work / "lsh" / "bands")
    candidate_pairs(con, bands, cfg.max_bucket_pairs)
    a, b, _ = verified_pairs(con, files, cfg)
    con.close()
    elapsed = time.perf_counter() - t0
    found = {(int(x), int(y)) for x, y in zip(a, b, strict=True)}
    t1 = time.perf_counter()
    removed = find_duplicates(files, cfg, work / "find")
    t_find = time.perf_counter() - t1 + t_sig
    return found, elapsed, t_sig, removed, t_find


def run_datasketch(texts, cfg: DedupConfig):
    from datasketch import MinHash, MinHashLSH

    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm)
    sigs = []
    for i, t in enumerate(texts):
        m = MinHash(num_perm=cfg.num_perm, seed=1)
        m.update_batch([s.encode() for s in shingles(t)])
        sigs.append(m)
        lsh.insert(i, m)
    found = set()
    for i, m in enumerate(sigs):
        for j in lsh.query(m):
            if j != i:
                found.add((min(i, j), max(i, j)))
    return found, time.perf_counter() - t0


def run_rensa(texts, cfg: DedupConfig):
    """rensa (Rust MinHash) as a second peer, when it is installed: same shingles, LSH with
    the same bands as forge, candidates verified at the threshold with its own estimate."""
    try:
        from rensa import RMinHash, RMinHashLSH
    except ImportError:
        return None
    t0 = time.perf_counter()
    lsh = RMinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm, num_bands=16)
    sigs = []
    for i, t in enumerate(texts):
        m = RMinHash(num_perm=cfg.num_perm, seed=1)
        m.update(sorted(shingles(t)))
        sigs.append(m)
        lsh.insert(i, m)
    found = set()
    for i, m in enumerate(sigs):
        for j in lsh.query(m):
            if j != i and m.jaccard(sigs[j]) >= cfg.threshold:
                found.add((min(i, j), max(i, j)))
    return found, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", type=int, default=6000, help="base documents")
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--recall-z", type=float, default=DedupConfig().recall_z)
    args = ap.parse_args()
    cfg = DedupConfig(threshold=args.threshold, recall_z=args.recall_z)
    texts, family = build(args.families)
    sh = [shingles(t) for t in texts]
    truth, sims = truth_pairs(texts, family, sh, args.threshold)
    print(
        f"corpus: {len(texts)} rows, {len(sims)} planted pairs, {len(truth)} at J >= {args.threshold}"
    )
    print(
        f"forge config: num_perm={cfg.num_perm} bands={cfg.bands} rows={cfg.rows} "
        f"(LSH threshold {cfg.implied_threshold:.3f}), verify at {cfg.verify_threshold:.3f}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        f_found, f_time, f_sig, removed, f_find = run_forge(texts, cfg, Path(tmp))
    d_found, d_time = run_datasketch(texts, cfg)
    results = {
        "forge": score(f_found, truth, sims, sh, args.threshold) | {"seconds": f_time},
        "datasketch": score(d_found, truth, sims, sh, args.threshold) | {"seconds": d_time},
    }
    r_out = run_rensa(texts, cfg)
    if r_out is not None:
        results["rensa"] = score(r_out[0], truth, sims, sh, args.threshold) | {"seconds": r_out[1]}
    # Cluster view of find_duplicates: a true pair is caught when both rows end in one cluster.
    root = {i: i for i in range(len(texts))}
    for r, d in zip(
        removed.column("row_id").to_pylist(), removed.column("dup_of").to_pylist(), strict=True
    ):
        root[r] = d
    caught = sum(1 for a, b in truth if root[a] == root[b])
    print()
    print(
        f"{'tool':<11} {'pairs':>7} {'precision':>9} {'prec@t-0.1':>10} {'recall':>7} "
        f"{'seconds':>8} {'rows/s':>9}"
    )
    for name, r in results.items():
        print(
            f"{name:<11} {r['pairs']:>7} {r['precision']:>9.3f} {r['precision_minus_0.1']:>10.3f} "
            f"{r['recall']:>7.3f} "
            f"{r['seconds']:>8.2f} {len(texts) / r['seconds']:>9.0f}"
        )
    print()
    names = list(results)
    print(f"recall by exact similarity of planted pairs ({' / '.join(names)}; pairs):")
    for band, (_, n) in results["forge"]["by_similarity"].items():
        recs = " / ".join(f"{results[t]['by_similarity'][band][0]:.3f}" for t in names)
        print(f"  J {band}: {recs}  ({n})")
    print()
    print(
        f"forge key tables (exact hash + signatures + Parquet): {len(texts) / f_sig:.0f} rows/s; "
        f"LSH (bands, pairs, verification): {len(texts) / (f_time - f_sig):.0f} rows/s"
    )
    print(
        f"forge find_duplicates end to end "
        f"(signatures + exact + near): {len(texts) / f_find:.0f} rows/s, "
        f"{removed.num_rows} rows removed, cluster recall {caught / max(len(truth), 1):.3f}"
    )
    ratio = results["datasketch"]["seconds"] / results["forge"]["seconds"]
    print(
        f"recall at J >= {args.threshold}: forge {results['forge']['recall']:.3f}, "
        f"datasketch {results['datasketch']['recall']:.3f}; speed ratio forge/datasketch {ratio:.2f}x"
    )


if __name__ == "__main__":
    main()
