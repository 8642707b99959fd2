"""Checks shared by the index tests: read an index file directly, as another program would."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
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


def embed_in_fresh_process(config: str, texts: int, watch: tuple[str, ...]) -> str:
    """In a new Python, embed `texts` copies of a string with `make_embedder(IndexConfig(
    <config>))` and print the vectors' shape and which modules of `watch` got imported."""
    code = (
        "import sys; from forge.config.index import IndexConfig; "
        "from forge.index import make_embedder; "
        f"v = make_embedder(IndexConfig({config})).embed(['a tar archive'] * {texts}); "
        f"print(v.shape, [m for m in {watch!r} if m in sys.modules])"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    ).stdout.strip()
