"""``Index``: the Python API of the markdown knowledge base.

idx = Index(".forge/index.db")
idx.update(["docs/"])                       # build or bring up to date
idx.search("how do closures capture variables", k=5)
idx.status(["docs/"])                       # what update would do, changing nothing
idx.nearest(generated_text, k=5)            # vector neighbours (memorization checks)
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from forge.config.index import IndexConfig
from forge.errors import ForgeError
from forge.index import search as ranking
from forge.index import store
from forge.index.chunk import CHUNKING, Chunk, Chunker
from forge.index.embed import Embedder, make_embedder
from forge.index.scan import Diff, FileStat, Keys, diff, file_hash, read_bytes, scan

Progress = Callable[[int, int], None]  # (files done, files to do)
MODES = ("hybrid", "bm25", "vector")


@dataclass(slots=True)
class UpdateReport:
    added: int = 0
    changed: int = 0
    deleted: int = 0
    touched: int = 0  # mtime moved, content identical: nothing re-chunked
    unchanged: int = 0
    chunks: int = 0  # chunks written for added / changed files
    embedded: int = 0  # texts the embedder actually ran on
    reused: int = 0  # chunks whose vector was already in the index
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Status:
    new: list[str]
    changed: list[str]
    deleted: list[str]
    touched: list[str]
    unchanged: int

    @property
    def clean(self) -> bool:
        return not (self.new or self.changed or self.deleted)


@dataclass(slots=True)
class _Pending:
    fs: FileStat
    meta: dict[str, Any]
    chunks: list[Chunk]


def index_root(path: Path) -> Path:
    """Paths are stored relative to this: the folder holding `.forge/`, else the file's folder."""
    parent = path.resolve().parent
    return parent.parent if parent.name == ".forge" else parent


class Index:
    def __init__(
        self,
        path: str | Path = ".forge/index.db",
        config: IndexConfig | None = None,
        embedder: Embedder | None = None,
    ):
        self.path = Path(path)
        self.config = config or IndexConfig(path=str(path))
        self.root = index_root(self.path)
        self._keys = Keys(self.root)
        self._embedder = embedder
        self._chunker: Chunker | None = None
        # A writer and a reader connection: a search from another thread during an update
        # reads its own WAL snapshot instead of waiting for (or breaking into) the writer.
        self._conn = store.connect(self.path)
        self._reader = store.connect(self.path, readonly=True)
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._matrix = store.VectorMatrix()

    # -- components, made on first use (a no-change update never loads the model) --
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.config)
        return self._embedder

    @property
    def chunker(self) -> Chunker:
        if self._chunker is None:
            emb = self.embedder
            self._chunker = Chunker(emb.count_tokens, emb.max_tokens, self.config.overlap_tokens)
        return self._chunker

    def close(self) -> None:
        self._conn.close()
        self._reader.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what is indexed --
    def _check_embedder(self, record: bool = True) -> None:
        """Vectors of two embedders (or chunk limits) never mix in one index."""
        want = f"{self.embedder.name}@{self.embedder.max_tokens}"
        have = store.get_meta(self._conn if record else self._reader, "embedder")
        if have is None:
            if record:
                store.set_meta(self._conn, "embedder", want)
        elif have != want:
            raise ForgeError(
                f"{self.path} was built with embedder {have}; the config asks for {want}",
                "set index.embedder back, or rebuild: forge index --rebuild PATH",
            )

    def sources(self, paths: Sequence[str | Path] | None = None) -> list[Path]:
        """``paths`` as given, else the ones the last update remembered, else ``index.sources``."""
        return [Path(p) for p in self._sources(paths)[0]]

    def _sources(self, paths: Sequence[str | Path] | None) -> tuple[list[str], bool]:
        """The paths to look at, and whether they were remembered rather than given."""
        if paths:
            return [os.fspath(p) for p in paths], False
        remembered = orjson.loads(store.get_meta(self._conn, "sources") or "[]")
        chosen = remembered or self.config.sources
        if not chosen:
            raise ForgeError(
                f"{self.path}: no files to index yet", "name them once: forge index PATH..."
            )
        root = os.fspath(self.root)
        return [p if os.path.isabs(p) else os.path.join(root, p) for p in chosen], True

    def _diff(self, paths: Sequence[str | Path] | None) -> tuple[Diff, list[str]]:
        sources, remembered = self._sources(paths)
        on_disk = scan(
            sources, self._keys, self.config.include, self.config.exclude, missing_ok=remembered
        )
        keys = [self._keys(s) for s in sources]
        return diff(on_disk, store.documents(self._conn), keys), sources

    def status(self, paths: Sequence[str | Path] | None = None) -> Status:
        """Which files are new, changed or deleted since the last update. Writes nothing."""
        d, _ = self._diff(paths)
        return Status(
            new=[f.key for f in d.new],
            changed=[f.key for f in d.changed],
            deleted=d.deleted,
            touched=[f.key for f in d.touched],
            unchanged=d.unchanged,
        )

    def update(
        self, paths: Sequence[str | Path] | None = None, progress: Progress | None = None
    ) -> UpdateReport:
        """Bring the index in line with the files under ``paths`` (default: the last ones).

        Each added or changed file is committed in its own transaction; chunks whose hash
        already has a vector are not embedded again. Deleted files, and vectors nothing uses
        any more, go in one final transaction.
        """
        with self._write_lock:
            return self._update(paths, progress)

    def _update(
        self, paths: Sequence[str | Path] | None, progress: Progress | None
    ) -> UpdateReport:
        t0 = time.perf_counter()
        store.forget_chunking(self._conn, CHUNKING)
        d, sources = self._diff(paths)
        rep = UpdateReport(unchanged=d.unchanged, touched=len(d.touched))
        store.touch_documents(self._conn, [(f.size, f.mtime_ns, f.key) for f in d.touched])
        todo = d.new + d.changed
        if todo:
            self._check_embedder()
            rep.added, rep.changed = len(d.new), len(d.changed)
            self._index_files(todo, rep, progress)
        store.delete_documents(self._conn, d.deleted)
        rep.deleted = len(d.deleted)
        if paths:
            keys = sorted({self._keys(s) for s in sources})
            store.set_meta(self._conn, "sources", orjson.dumps(keys).decode())
        rep.seconds = time.perf_counter() - t0
        return rep

    def _index_files(self, todo: list[FileStat], rep: UpdateReport, progress: Progress | None):
        group: list[_Pending] = []
        pending_chunks, first = 0, 0  # chunks waiting, index of the group's first file

        def flush(upto: int) -> None:
            def tick(fraction: float) -> None:
                if progress:
                    progress(first + int(fraction * (upto - first)), len(todo))

            self._flush(group, rep, tick)

        for i, fs in enumerate(todo):
            item = self._read(fs, rep)
            if item is not None:
                group.append(item)
                pending_chunks += len(item.chunks)
            if pending_chunks >= self.config.embed_group:
                flush(i + 1)
                group, pending_chunks, first = [], 0, i + 1
        flush(len(todo))
        if progress:
            progress(len(todo), len(todo))

    def _read(self, fs: FileStat, rep: UpdateReport) -> _Pending | None:
        try:
            data = read_bytes(fs.path)
        except FileNotFoundError:
            return None  # vanished since the scan; the next update removes it
        fs.hash = file_hash(data)
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError:
            raw = data.decode("utf-8", errors="replace")
            rep.warnings.append(f"{fs.key}: not valid UTF-8; undecodable bytes shown as U+FFFD")
        doc, chunks = self.chunker.chunk(raw, fs.key)
        rep.warnings.extend(doc.warnings)
        return _Pending(fs, doc.meta, chunks)

    def _flush(
        self, group: list[_Pending], rep: UpdateReport, tick: Callable[[float], None]
    ) -> None:
        """Embed what the group needs (once per distinct chunk), then commit file by file.

        Texts go to the embedder longest first in slices of a few batches: the same batches
        (and padding) as one call over the whole group, with progress between slices.
        """
        if not group:
            return
        wanted: dict[str, Chunk] = {}
        for item in group:
            for c in item.chunks:
                wanted.setdefault(c.hash, c)
        have = store.known_vectors(self._conn, list(wanted))
        missing = sorted((h for h in wanted if h not in have), key=lambda h: -wanted[h].tokens)
        vectors: dict[str, np.ndarray] = {}
        step = 4 * self.config.batch_size
        for start in range(0, len(missing), step):
            part = missing[start : start + step]
            embs = self.embedder.embed([wanted[h].embed_text for h in part])
            vectors.update(zip(part, embs, strict=True))
            tick((start + len(part)) / len(missing))
        rep.embedded += len(missing)
        for item in group:
            own = {c.hash: vectors[c.hash] for c in item.chunks if c.hash in vectors}
            store.write_document(
                self._conn,
                item.fs.key,
                item.fs.size,
                item.fs.mtime_ns,
                item.fs.hash or "",
                item.meta,
                item.chunks,
                own,
            )
            rep.chunks += len(item.chunks)
            rep.reused += sum(1 for c in item.chunks if c.hash in have)

    # -- search --
    def search(
        self,
        query: str,
        k: int = 10,
        mode: str | None = None,
        path: str | None = None,
        where: dict[str, str] | None = None,
    ) -> list[ranking.Hit]:
        """The ``k`` best chunks for ``query``; ``path`` is a glob, ``where`` front-matter fields."""
        mode = mode or self.config.mode
        if mode not in MODES:
            raise ForgeError(f"unknown search mode '{mode}'", f"use one of: {', '.join(MODES)}")
        if k <= 0:
            raise ForgeError(f"k must be at least 1 (got {k})", "e.g. -k 5")
        qvec = None
        if mode != "bm25":
            self._check_embedder(record=False)  # a query vector from another model means nothing
            qvec = self.embedder.embed([query])[0]
        with self._read_lock:
            return self._search(query, k, mode, path, where, qvec)

    def _search(
        self,
        query: str,
        k: int,
        mode: str,
        path: str | None,
        where: dict[str, str] | None,
        qvec: np.ndarray | None,
    ) -> list[ranking.Hit]:
        depth = max(50, 4 * k)  # each ranking contributes this many candidates to the fusion
        conn = self._reader
        conn.execute("BEGIN")  # one snapshot for the matrix, the FTS ranking and the rows
        try:
            doc_ids = ranking.filter_docs(conn, path, where)
            rankings = []
            if mode in ("bm25", "hybrid"):
                rankings.append(ranking.bm25(conn, query, depth, doc_ids))
            if qvec is not None:
                self._matrix.refresh(conn)
                m = self._matrix
                mask = None if doc_ids is None else np.isin(m.doc_ids, doc_ids)
                rankings.append(ranking.vector(m.ids, m.matrix, qvec, depth, mask))
            top = ranking.rrf(rankings, self.config.rrf_k) if mode == "hybrid" else rankings[0]
            hits = self._hits(conn, top[:k], ranking.query_terms(query))
        finally:
            conn.execute("COMMIT")
        return hits

    def nearest(self, text: str, k: int = 5, path: str | None = None) -> list[ranking.Hit]:
        """The chunks closest to ``text`` by embedding (e.g. a generated sample vs. its corpus)."""
        return self.search(text, k=k, mode="vector", path=path)

    def _hits(
        self, conn: sqlite3.Connection, top: list[tuple[int, float]], terms: list[str]
    ) -> list[ranking.Hit]:
        if not top:
            return []
        scores = dict(top)
        rows = conn.execute(
            "SELECT c.id, d.path, c.heading, c.start_line, c.end_line, c.text, d.meta "
            "FROM chunks c JOIN documents d ON d.id = c.doc_id "
            "WHERE c.id IN (SELECT value FROM json_each(?))",
            (orjson.dumps(list(scores)).decode(),),
        ).fetchall()
        by_id = {r[0]: r for r in rows}
        hits = []
        for cid, score in top:
            r = by_id.get(cid)
            if r is None:
                continue
            hits.append(
                ranking.Hit(
                    score=round(score, 6),
                    path=r[1],
                    heading=r[2],
                    start_line=r[3],
                    end_line=r[4],
                    snippet=ranking.snippet(r[5], terms),
                    text=r[5],
                    chunk_id=cid,
                    meta=orjson.loads(r[6]),
                )
            )
        return hits

    def stats(self) -> dict[str, Any]:
        c = self._reader
        return {
            "path": str(self.path),
            "documents": c.execute("SELECT count(*) FROM documents").fetchone()[0],
            "chunks": c.execute("SELECT count(*) FROM chunks").fetchone()[0],
            "vectors": c.execute("SELECT count(*) FROM vectors").fetchone()[0],
            "embedder": store.get_meta(c, "embedder"),
            "sources": orjson.loads(store.get_meta(c, "sources") or "[]"),
            "generation": store.generation(c),
        }
