"""Checks shared by the index tests: read an index file directly, as another program would."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def rows(db: Path) -> list[tuple]:
    """Everything a search can see, in a stable order (ids aside)."""
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT d.path, d.hash, c.ord, c.heading, c.start_line, c.end_line, c.text, c.hash, "
            "v.vec IS NOT NULL FROM chunks c JOIN documents d ON d.id = c.doc_id "
            "LEFT JOIN vectors v ON v.hash = c.hash ORDER BY d.path, c.ord"
        ).fetchall()


def check_consistent(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)")
        n_chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM chunks_fts").fetchone()[0] == n_chunks
        orphans = "SELECT count(*) FROM chunks WHERE doc_id NOT IN (SELECT id FROM documents)"
        assert conn.execute(orphans).fetchone()[0] == 0
        no_vec = "SELECT count(*) FROM chunks WHERE hash NOT IN (SELECT hash FROM vectors)"
        assert conn.execute(no_vec).fetchone()[0] == 0
