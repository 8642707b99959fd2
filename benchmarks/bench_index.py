"""Benchmark `forge index` / `forge search` on the tldr pages and the rust book (~7.5k files).

Figures (goals in brackets):
  - indexing throughput as a fraction of the embedder's own speed on the same chunks [>= 0.90]
  - hybrid query latency, query embedding included, warm: p50 [<= 30 ms], p95 [<= 60 ms]
  - re-index with nothing changed [<= 0.5 s]
  - peak RSS while indexing [<= 600 MB]
  - quality on benchmarks/index_queries.py: recall@10 and MRR for bm25, vector, hybrid
    [hybrid >= max(bm25, vector) - 0.01]

Each phase runs in its own process, so peak RSS belongs to that phase alone.

    PYTHONPATH=src python benchmarks/bench_index.py                 # everything (minutes)
    PYTHONPATH=src python benchmarks/bench_index.py --tldr 1000     # rust book + 1000 tldr pages
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "markdown"


def files(data: Path, tldr_limit: int | None) -> list[str]:
    book = sorted((data / "rust-book" / "src").glob("*.md"))
    pages = sorted((data / "tldr" / "pages").rglob("*.md"))
    if tldr_limit is not None:
        pages = pages[:tldr_limit]
    return [str(p) for p in book + pages]


def _cfg(db: str | None = None):
    """The index config the phases use: the default one, or the backend given by --backend
    (passed down in the environment to the phase processes)."""
    from forge.config.index import IndexConfig

    backend = os.environ.get("BENCH_INDEX_BACKEND", IndexConfig().backend)
    return IndexConfig(backend=backend) if db is None else IndexConfig(path=db, backend=backend)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def cpu_s() -> float:
    """CPU seconds of this process: steadier than wall time on a shared machine."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def phase_build(db: str, paths: list[str]) -> dict:
    from forge.index import Index

    idx = Index(db, config=_cfg(db))
    t0 = time.perf_counter()
    idx.embedder.model  # noqa: B018 - load the model first, timed on its own
    load = time.perf_counter() - t0
    c0 = cpu_s()
    rep = idx.update(paths)
    cpu = cpu_s() - c0
    total = time.perf_counter() - t0
    return {
        "files": rep.added,
        "chunks": rep.chunks,
        "embedded": rep.embedded,
        "load_s": load,
        "update_s": rep.seconds,
        "update_cpu_s": cpu,
        "total_s": total,
        "peak_rss_mb": peak_rss_mb(),
    }


class _RandomVectors:
    """Bench-only embedder for the full-size structural figures: the real tokenizer (so the
    chunks are the real ones) but random unit vectors instead of the model's."""

    name = "bench-structure"

    def __init__(self) -> None:
        import numpy as np

        from forge.index.embed import make_embedder

        self.real = make_embedder(_cfg())
        self.max_tokens = self.real.max_tokens
        self.rng = np.random.default_rng(0)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self.real.count_tokens(texts)

    def embed(self, texts: list[str]):
        v = self.rng.standard_normal((len(texts), 384)).astype("float32")
        return v / (v**2).sum(axis=1, keepdims=True) ** 0.5


class _QueryModel:
    """The real model under the bench index's name: query embedding costs what it really does."""

    name = "bench-structure"

    def __init__(self) -> None:
        from forge.index.embed import make_embedder

        self.real = make_embedder(_cfg())
        self.max_tokens = self.real.max_tokens
        self.count_tokens = self.real.count_tokens
        self.embed = self.real.embed


def phase_structure(db: str, paths: list[str]) -> dict:
    """All ~7.5k files with random vectors: the no-op re-index and query latency at full size."""
    from forge.index import Index

    sys.path.insert(0, str(HERE))
    from index_queries import QUERIES

    idx = Index(db, embedder=_RandomVectors())
    rep = idx.update(paths)
    idx.close()
    noop = phase_noop(db)
    idx = Index(db, embedder=_QueryModel())
    return {
        "files": rep.added,
        "chunks": rep.chunks,
        "chunk_and_store_s": rep.seconds,
        "noop_s_median": noop["noop_s_median"],
        **latency(idx, [q for q, _, _ in QUERIES]),
    }


def latency(idx, queries: list[str]) -> dict:
    """Warm hybrid search latency, query embedding included: three passes over the queries."""
    for q in queries[:5]:
        idx.search(q, k=10)  # warm: model, matrix, SQLite pages
    lat = []
    for _ in range(3):
        for q in queries:
            t0 = time.perf_counter()
            idx.search(q, k=10, mode="hybrid")
            lat.append((time.perf_counter() - t0) * 1000)
    lat.sort()
    return {"p50_ms": lat[len(lat) // 2], "p95_ms": lat[int(len(lat) * 0.95) - 1]}


def phase_embed(db: str) -> dict:
    """The embedder alone on exactly the chunks the index embedded, in one call."""
    import sqlite3

    from forge.index.chunk import embed_text
    from forge.index.embed import make_embedder

    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT heading, text FROM chunks WHERE id IN (SELECT min(id) FROM chunks GROUP BY hash)"
        ).fetchall()
    texts = [embed_text(h, t) for h, t in rows]
    emb = make_embedder(_cfg())
    emb.embed(texts[:8])  # load and warm
    t0, c0 = time.perf_counter(), cpu_s()
    emb.embed(texts)
    return {"texts": len(texts), "embed_s": time.perf_counter() - t0, "embed_cpu_s": cpu_s() - c0}


def phase_noop(db: str) -> dict:
    from forge.index import Index

    times = []
    for _ in range(5):
        idx = Index(db, config=_cfg(db))
        t0 = time.perf_counter()
        rep = idx.update()
        times.append(time.perf_counter() - t0)
        assert rep.embedded == 0 and rep.added == rep.changed == rep.deleted == 0, rep
        idx.close()
    return {"noop_s_median": statistics.median(times), "noop_s_min": min(times)}


def phase_query(db: str) -> dict:
    sys.path.insert(0, str(HERE))
    from index_queries import QUERIES

    from forge.index import Index

    idx = Index(db, config=_cfg(db))
    out: dict = {"queries": len(QUERIES), **latency(idx, [q for q, _, _ in QUERIES])}
    for mode in ("bm25", "vector", "hybrid"):
        found, rr = 0, 0.0
        for q, file, section in QUERIES:
            for rank, h in enumerate(idx.search(q, k=10, mode=mode), start=1):
                if h.path.endswith("/" + file) and (section is None or section in h.heading):
                    found += 1
                    rr += 1 / rank
                    break
        out[mode] = {"recall@10": found / len(QUERIES), "mrr": rr / len(QUERIES)}
    return out


def run_phase(name: str, *args: str) -> dict:
    cmd = [sys.executable, __file__, "--phase", name, *args]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"phase {name} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--tldr", type=int, default=None, help="only the first N tldr pages")
    ap.add_argument("--work", type=Path, default=None, help="keep the index here (reused)")
    ap.add_argument(
        "--structure",
        action="store_true",
        help="only the full-size structural figures (random vectors: no-op re-index, latency)",
    )
    ap.add_argument(
        "--backend",
        choices=("auto", "transformers", "sentence-transformers"),
        default=None,
        help="index.backend for every phase (default: the config default)",
    )
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.phase:
        fn = {
            "build": phase_build,
            "structure": phase_structure,
            "embed": phase_embed,
            "noop": phase_noop,
            "query": phase_query,
        }
        db = a.args[0]
        with_paths = a.phase in ("build", "structure")
        result = (
            fn[a.phase](db, json.loads(Path(a.args[1]).read_text()))
            if with_paths
            else fn[a.phase](db)
        )
        print(json.dumps(result))
        return

    if a.backend:
        os.environ["BENCH_INDEX_BACKEND"] = a.backend
    work = a.work or Path(tempfile.mkdtemp(prefix="bench-index-"))
    work.mkdir(parents=True, exist_ok=True)
    paths = files(a.data, a.tldr)
    listing = work / "files.json"
    listing.write_text(json.dumps(paths))
    print(f"{len(paths)} files; work {work}; load average {os.getloadavg()}", flush=True)
    if a.structure:
        st = run_phase("structure", str(work / ".forge" / "structure.db"), str(listing))
        print("structure:", json.dumps(st))
        print("\n== figures (full size, random vectors, real query embedding) ==")
        print(
            f"{st['files']} files, {st['chunks']} chunks; chunk+store {st['chunk_and_store_s']:.1f} s"
        )
        print(f"no-op re-index: {st['noop_s_median']:.3f} s median (goal <= 0.5)")
        print(
            f"hybrid latency: p50 {st['p50_ms']:.1f} ms, p95 {st['p95_ms']:.1f} ms (goals 30 / 60)"
        )
        return
    db = str(work / ".forge" / "index.db")
    if not Path(db).exists():
        build = run_phase("build", db, str(listing))
        print("build:", json.dumps(build), flush=True)
    else:
        build = None
        print("build: reusing the existing index", flush=True)
    embed = run_phase("embed", db)
    print("embed only:", json.dumps(embed), flush=True)
    noop = run_phase("noop", db)
    print("no-op update:", json.dumps(noop), flush=True)
    query = run_phase("query", db)
    print("query:", json.dumps(query), flush=True)
    print(f"load average after: {os.getloadavg()}")

    print("\n== figures ==")
    if build:
        rate_index = build["embedded"] / build["update_s"]
        rate_embed = embed["texts"] / embed["embed_s"]
        with_load = build["embedded"] / build["total_s"]
        print(
            f"indexing: {build['files']} files, {build['chunks']} chunks, {rate_index:.1f} chunks/s"
        )
        print(f"embedder alone: {rate_embed:.1f} chunks/s on the same {embed['texts']} chunks")
        print(f"peak RSS while indexing: {build['peak_rss_mb']:.0f} MB (goal <= 600)")
        print(f"throughput incl. model load: {with_load / rate_embed:.3f} of the embedder's")
    print(f"no-op re-index: {noop['noop_s_median']:.3f} s median (goal <= 0.5)")
    print(
        f"hybrid latency: p50 {query['p50_ms']:.1f} ms, p95 {query['p95_ms']:.1f} ms (goals 30 / 60)"
    )
    for mode in ("bm25", "vector", "hybrid"):
        q = query[mode]
        print(f"{mode:7} recall@10 {q['recall@10']:.3f}  MRR {q['mrr']:.3f}")
    best = max(query["bm25"]["mrr"], query["vector"]["mrr"])
    best_r = max(query["bm25"]["recall@10"], query["vector"]["recall@10"])
    print(
        f"hybrid - best single: MRR {query['hybrid']['mrr'] - best:+.3f}, "
        f"recall@10 {query['hybrid']['recall@10'] - best_r:+.3f} (goal >= -0.01)"
    )
    if build:
        cpu_ratio = (build["embedded"] / build["update_cpu_s"]) / (
            embed["texts"] / embed["embed_cpu_s"]
        )
        print(f"same ratio in CPU seconds (less sensitive to other load): {cpu_ratio:.3f}")
        print(f"indexing throughput / embedder speed: {rate_index / rate_embed:.3f} (goal >= 0.90)")


if __name__ == "__main__":
    main()
