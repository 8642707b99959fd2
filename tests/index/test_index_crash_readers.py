"""kill -9 in the middle of an update, and readers running while an update writes."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from index_helpers import check_consistent, rows

from forge.index import Index

WORKER = """
import sys
from forge.config.index import IndexConfig
from forge.index import Index
db, src = sys.argv[1], sys.argv[2]
Index(db, config=IndexConfig(path=db, embed_group=4, batch_size=4)).update([src])
print("finished")
"""


@pytest.fixture
def many_pages(tmp_path: Path, markdown_dir: Path) -> Path:
    """Enough tldr pages that an update takes a while (30 files, ~40 chunks)."""
    root = tmp_path / "pages"
    root.mkdir()
    for f in sorted((markdown_dir / "tldr" / "pages" / "common").glob("c*.md"))[:30]:
        shutil.copy(f, root / f.name)
    return root


def _documents(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_kill_9_mid_update_keeps_a_consistent_index_and_the_next_update_finishes(
    tmp_path: Path, many_pages: Path, make_index
):
    db = tmp_path / ".forge" / "killed.db"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(db), str(many_pages)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 300
    while _documents(db) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    out, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
    assert b"finished" not in out
    done = _documents(db)
    assert 3 <= done < 30  # killed part-way: some files committed, not all

    # What survived is whole: every committed file has all its chunks, FTS rows and vectors.
    check_consistent(db)
    idx = Index(db, embedder=make_index().embedder)
    by_file = {}
    for r in rows(db):
        by_file.setdefault(r[0], []).append(r)
    for path, file_rows in by_file.items():
        _, expected = idx.chunker.chunk((idx.root / path).read_text(), path)
        assert [r[7] for r in file_rows] == [c.hash for c in expected], path

    rep = idx.update([many_pages])
    assert rep.added == 30 - done and rep.unchanged == done
    check_consistent(db)
    fresh = make_index("fresh.db")
    fresh.update([many_pages])
    assert rows(db) == rows(fresh.path)
    idx.close()


def test_readers_see_each_file_old_or_new_never_a_mix(corpus: Path, make_index):
    idx = make_index()
    idx.update([corpus])
    pages = sorted((corpus / "tldr").glob("*.md"))
    old = {p: p.read_text() for p in pages}
    new = {p: old[p] + f"\n- Zebra step for {p.stem}:\n\n`{p.stem} --zebra`\n" for p in pages}
    expected = {}  # path -> the chunk hashes of each version
    for p in pages:
        key = p.relative_to(idx.root).as_posix()
        versions = [tuple(c.hash for c in idx.chunker.chunk(v[p], key)[1]) for v in (old, new)]
        expected[key] = versions
    reader = make_index()  # its own connection, as another process would have
    reader.search("zebra", k=1)  # warm: the query vector and the matrix
    stop = threading.Event()
    problems: list[str] = []
    snapshots = 0

    def read() -> None:
        nonlocal snapshots
        conn = sqlite3.connect(idx.path, isolation_level=None, check_same_thread=False)
        while not stop.is_set():
            conn.execute("BEGIN")
            seen: dict[str, list[str]] = {}
            for path, h in conn.execute(
                "SELECT d.path, c.hash FROM chunks c JOIN documents d ON d.id = c.doc_id "
                "ORDER BY d.path, c.ord"
            ):
                seen.setdefault(path, []).append(h)
            conn.execute("COMMIT")
            for path, versions in expected.items():
                if tuple(seen.get(path, ())) not in versions:
                    problems.append(f"{path}: a state that is neither the old nor the new file")
            # Another Index, and the updating Index itself (its own reader connection).
            for h in reader.search("zebra step", k=20) + idx.search("zebra step", k=5):
                if (
                    h.path in expected
                    and h.text not in old[idx.root / h.path] + new[idx.root / h.path]
                ):
                    problems.append(f"{h.path}: search returned text of no version")
            snapshots += 1
        conn.close()

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for p in pages:
            p.write_text(new[p])
        rep = idx.update()
        assert rep.changed == len(pages)
    finally:
        time.sleep(0.2)
        stop.set()
        thread.join(60)
    assert not problems, problems[:5]
    assert snapshots >= 2
    assert all(
        h.path.startswith("docs/tldr/") for h in reader.search("zebra step", k=5, mode="bm25")
    )
