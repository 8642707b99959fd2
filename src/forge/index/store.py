"""The index file: one SQLite database in WAL mode.

Tables: ``documents`` (one row per file), ``chunks`` (text, heading path, lines, hash),
``chunks_fts`` (FTS5 over chunk text and headings, kept in step by triggers), ``vectors``
(float32 blobs keyed by chunk hash, so an unchanged chunk keeps its vector across edits and
renames) and ``meta`` (embedder identity, the generation counter, remembered sources).

Each file is written in one transaction that also bumps ``generation``; readers compare the
generation inside their own read transaction to know when the in-memory vector matrix is stale.
WAL gives every reader a snapshot: it sees a file either before or after its transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from forge.errors import ForgeError
from forge.index.chunk import Chunk

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL UNIQUE,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  hash TEXT NOT NULL,
  meta TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS chunks(
  id INTEGER PRIMARY KEY,
  doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  ord INTEGER NOT NULL,
  heading TEXT NOT NULL,
  start_line INTEGER NOT NULL,
  end_line INTEGER NOT NULL,
  text TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks(hash);
CREATE TABLE IF NOT EXISTS vectors(hash TEXT PRIMARY KEY, vec BLOB NOT NULL) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
  heading, text, content='chunks', content_rowid='id', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts(rowid, heading, text) VALUES (new.id, new.heading, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
  INSERT INTO chunks_fts(chunks_fts, rowid, heading, text)
  VALUES ('delete', old.id, old.heading, old.text);
END;
"""


@dataclass(slots=True)
class DocRow:
    id: int
    path: str
    size: int
    mtime_ns: int
    hash: str


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are explicit (BEGIN ... COMMIT)."""
    if readonly and not path.exists():
        raise ForgeError(f"no index at {path}", "build one first: forge index PATH")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, timeout=60, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints, atomic always
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=60000")
        made = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'chunks_fts'").fetchone()
        if not readonly and not made:  # an existing index is opened without taking a write lock
            conn.executescript(_SCHEMA)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
    except sqlite3.OperationalError as e:
        if "fts5" in str(e):
            raise ForgeError(
                f"this Python's sqlite3 (SQLite {sqlite3.sqlite_version}) lacks FTS5",
                "use a Python built with a standard SQLite (FTS5 is on in most builds)",
            ) from e
        raise ForgeError(f"{path}: cannot open the index ({e})", "check the path") from e
    except sqlite3.DatabaseError as e:
        raise ForgeError(
            f"{path}: not a usable index ({e})", "delete the file and run forge index again"
        ) from e
    return conn


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def generation(conn: sqlite3.Connection) -> int:
    return int(get_meta(conn, "generation") or 0)


def _bump(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")


def documents(conn: sqlite3.Connection) -> dict[str, DocRow]:
    rows = conn.execute("SELECT id, path, size, mtime_ns, hash FROM documents")
    return {r[1]: DocRow(*r) for r in rows}


def known_vectors(conn: sqlite3.Connection, hashes: Sequence[str]) -> set[str]:
    """Which of ``hashes`` already have a vector (in batches below SQLite's variable limit)."""
    found: set[str] = set()
    for i in range(0, len(hashes), 900):
        part = hashes[i : i + 900]
        marks = ",".join("?" * len(part))
        found.update(
            r[0] for r in conn.execute(f"SELECT hash FROM vectors WHERE hash IN ({marks})", part)
        )
    return found


def write_document(
    conn: sqlite3.Connection,
    path: str,
    size: int,
    mtime_ns: int,
    content_hash: str,
    meta: dict,
    chunks: list[Chunk],
    new_vectors: dict[str, np.ndarray],
) -> None:
    """Replace everything about one file in one transaction (FTS follows through triggers)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT INTO documents(path, size, mtime_ns, hash, meta) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns, "
            "hash=excluded.hash, meta=excluded.meta",
            (path, size, mtime_ns, content_hash, orjson.dumps(meta, default=str).decode()),
        )
        doc_id = conn.execute("SELECT id FROM documents WHERE path = ?", (path,)).fetchone()[0]
        conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        conn.executemany(
            "INSERT INTO vectors(hash, vec) VALUES (?, ?) ON CONFLICT(hash) DO NOTHING",
            [(h, v.tobytes()) for h, v in new_vectors.items()],
        )
        conn.executemany(
            "INSERT INTO chunks(doc_id, ord, heading, start_line, end_line, text, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (doc_id, i, c.heading, c.start_line, c.end_line, c.text, c.hash)
                for i, c in enumerate(chunks)
            ],
        )
        _bump(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def forget_chunking(conn: sqlite3.Connection, version: str) -> None:
    """Record the chunking rule; an index made by another rule re-reads every file.

    Each document's size and hash are cleared so the next scan sees every file as changed:
    it is chunked again, and chunks whose embedded text did not change keep their vectors.
    """
    have = get_meta(conn, "chunking")
    if have == version:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("UPDATE documents SET size = -1, hash = ''")
        set_meta(conn, "chunking", version)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def touch_documents(conn: sqlite3.Connection, rows: Iterable[tuple[int, int, str]]) -> None:
    """Files whose mtime changed but content did not: remember the new size and mtime."""
    rows = list(rows)
    if not rows:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany("UPDATE documents SET size = ?, mtime_ns = ? WHERE path = ?", rows)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def delete_documents(conn: sqlite3.Connection, paths: Sequence[str]) -> None:
    """Drop files and every vector no chunk uses any more, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for p in paths:
            row = conn.execute("SELECT id FROM documents WHERE path = ?", (p,)).fetchone()
            if row:
                conn.execute("DELETE FROM chunks WHERE doc_id = ?", (row[0],))
                conn.execute("DELETE FROM documents WHERE id = ?", (row[0],))
        # Unreferenced vectors go too (they were kept until now so a renamed file could reuse them).
        conn.execute("DELETE FROM vectors WHERE hash NOT IN (SELECT hash FROM chunks)")
        if paths:
            _bump(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class VectorMatrix:
    """Every chunk's vector as one float32 matrix, rebuilt only when the generation changes."""

    def __init__(self) -> None:
        self.generation = -1
        self.ids = np.zeros(0, dtype=np.int64)
        self.doc_ids = np.zeros(0, dtype=np.int64)
        self.matrix = np.zeros((0, 0), dtype=np.float32)

    def refresh(self, conn: sqlite3.Connection) -> None:
        """Call inside the reader's transaction, so the matrix matches what it reads next."""
        gen = generation(conn)
        if gen == self.generation:
            return
        rows = conn.execute(
            "SELECT c.id, c.doc_id, v.vec FROM chunks c JOIN vectors v ON v.hash = c.hash "
            "ORDER BY c.id"
        ).fetchall()
        self.ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        self.doc_ids = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        if rows:
            # A writable copy (bytearray), so torch can wrap it without a warning.
            flat = np.frombuffer(bytearray(b"".join(r[2] for r in rows)), dtype=np.float32)
            self.matrix = flat.reshape(len(rows), -1)
        else:
            self.matrix = np.zeros((0, 0), dtype=np.float32)
        self.generation = gen
