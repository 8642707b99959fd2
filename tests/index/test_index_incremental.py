"""Incremental updates: only what changed is embedded; nothing stale is ever returned."""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest
from index_helpers import check_consistent, rows

from forge.errors import ForgeError
from forge.index import store
from forge.index.chunk import CHUNKING


def test_edit_one_section_reembeds_only_its_chunks(corpus, make_index, chunker, cached_embedder):
    idx = make_index()
    idx.update([corpus])
    f = corpus / "book" / "ch13-01-closures.md"
    old = f.read_text()
    anchor = "There are more differences between functions and closures."  # one paragraph
    assert old.count(anchor) == 1
    new = old.replace(anchor, "There are (as shown below) more differences between them.")
    f.write_text(new)
    old_hashes = {c.hash for c in chunker.chunk(old, "x")[1]}
    changed = [c for c in chunker.chunk(new, "x")[1] if c.hash not in old_hashes]
    assert 1 <= len(changed) <= 2
    calls = cached_embedder.calls
    rep = idx.update()
    assert (rep.changed, rep.added, rep.deleted, rep.unchanged) == (1, 0, 0, 12)
    assert rep.embedded == len(changed) == cached_embedder.calls - calls
    assert rep.reused == rep.chunks - len(changed)
    hit = idx.search("there are (as shown below) more differences", k=1, mode="bm25")[0]
    assert "(as shown below)" in hit.text and hit.heading == changed[0].heading
    check_consistent(idx.path)


def test_removed_section_and_deleted_file_vanish_everywhere(corpus, make_index):
    idx = make_index()
    idx.update([corpus])
    f = corpus / "book" / "ch08-01-vectors.md"
    text = f.read_text()
    start = text.index("### Using an Enum to Store Multiple Types")
    end = text.index("### Dropping a Vector Drops Its Elements")
    f.write_text(text[:start] + text[end:])
    (corpus / "tldr" / "rsync.md").unlink()
    rep = idx.update()
    assert (rep.changed, rep.deleted) == (1, 1)
    for mode in ("bm25", "vector", "hybrid"):
        for q in ("enum SpreadsheetCell store multiple types", "rsync transfer files remote"):
            for h in idx.search(q, k=50, mode=mode):
                assert "SpreadsheetCell" not in h.text
                assert not h.path.endswith("rsync.md")
                assert h.text in (idx.root / h.path).read_text()  # only what the files hold now
    with sqlite3.connect(idx.path) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM chunks WHERE text LIKE '%SpreadsheetCell%'"
            ).fetchone()[0]
            == 0
        )
        match = "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'SpreadsheetCell OR rsync'"
        assert conn.execute(match).fetchone()[0] == 0
        assert (
            conn.execute("SELECT count(*) FROM documents WHERE path LIKE '%rsync%'").fetchone()[0]
            == 0
        )
        unused = "SELECT count(*) FROM vectors WHERE hash NOT IN (SELECT hash FROM chunks)"
        assert conn.execute(unused).fetchone()[0] == 0
    check_consistent(idx.path)


def test_rename_and_touch_embed_nothing(corpus, make_index):
    idx = make_index()
    idx.update([corpus])
    before = {(r[2], r[3], r[6], r[7]) for r in rows(idx.path) if r[0].endswith("/tar.md")}
    (corpus / "tldr" / "archives").mkdir()
    shutil.move(corpus / "tldr" / "tar.md", corpus / "tldr" / "archives" / "tar-page.md")
    grep = corpus / "tldr" / "grep.md"
    os.utime(grep, ns=(grep.stat().st_atime_ns, grep.stat().st_mtime_ns + 10**9))
    gen = store.generation(idx._conn)
    rep = idx.update()
    assert (rep.added, rep.deleted, rep.touched, rep.embedded) == (1, 1, 1, 0)
    assert rep.reused == rep.chunks == len(before)
    after = {(r[2], r[3], r[6], r[7]) for r in rows(idx.path) if r[0].endswith("/tar-page.md")}
    assert after == before
    assert idx.search("tar archive", k=1, mode="bm25")[0].path == "docs/tldr/archives/tar-page.md"
    assert store.generation(idx._conn) == gen + 2  # the new file, then the deletion
    rep = idx.update()
    assert (rep.unchanged, rep.touched, rep.embedded) == (13, 0, 0)


def test_status_reports_without_changing_anything(corpus, make_index):
    idx = make_index()
    idx.update([corpus])
    (corpus / "tldr" / "ssh.md").write_text("# ssh\n\n> Changed.\n")
    (corpus / "tldr" / "new-tool.md").write_text("# new-tool\n\n> New.\n")
    (corpus / "tldr" / "curl.md").unlink()
    snapshot = rows(idx.path)
    st = idx.status()
    assert st.new == ["docs/tldr/new-tool.md"]
    assert st.changed == ["docs/tldr/ssh.md"]
    assert st.deleted == ["docs/tldr/curl.md"]
    assert st.unchanged == 11 and not st.clean
    assert rows(idx.path) == snapshot
    idx.update()
    assert idx.status().clean


def test_a_different_embedder_is_refused(corpus, make_index, cached_embedder):
    idx = make_index()
    idx.update([corpus / "tldr"])
    (corpus / "tldr" / "ssh.md").write_text("# ssh\n\n> Changed.\n")
    original = cached_embedder.name
    cached_embedder.name = "another-model"
    try:
        other = make_index()
        with pytest.raises(ForgeError, match="built with embedder all-MiniLM-L6-v2@256"):
            other.update([corpus / "tldr"])
        with pytest.raises(ForgeError, match="built with embedder"):
            other.search("secure shell", mode="hybrid")
        assert other.search("secure shell", mode="bm25")  # keywords need no vectors
    finally:
        cached_embedder.name = original


def test_missing_path_and_no_sources_are_user_errors(tmp_path, make_index):
    idx = make_index()
    with pytest.raises(ForgeError, match="no files to index yet"):
        idx.update()
    with pytest.raises(ForgeError, match="no such file or folder"):
        idx.update([tmp_path / "nope"])


def test_same_result_as_a_fresh_build(corpus, make_index):
    idx = make_index("a.db")
    idx.update([corpus])
    (corpus / "tldr" / "sed.md").write_text(
        (corpus / "tldr" / "sed.md").read_text() + "\n- More.\n"
    )
    shutil.move(corpus / "tldr" / "awk.md", corpus / "book" / "awk.md")
    idx.update()
    fresh = make_index("b.db")
    fresh.update([corpus])
    assert rows(idx.path) == rows(fresh.path)


def test_a_file_that_is_not_an_index_is_a_user_error(tmp_path):
    from forge.index import Index

    bad = tmp_path / "notes.db"
    bad.write_text("these are notes, not a database " * 100)
    with pytest.raises(ForgeError, match="not a usable index"):
        Index(bad)


def test_an_index_chunked_by_an_older_rule_rechunks_every_file(corpus, make_index):
    """Every file is chunked again; chunks whose embedded text is the same keep their vectors."""
    idx = make_index()
    first = idx.update([corpus])
    before = rows(idx.path)
    idx._conn.execute("UPDATE meta SET value = '1' WHERE key = 'chunking'")
    rep = idx.update()
    assert (rep.changed, rep.unchanged, rep.embedded) == (13, 0, 0)
    assert rep.reused == rep.chunks == first.chunks
    assert rows(idx.path) == before
    assert store.get_meta(idx._conn, "chunking") == CHUNKING
    assert idx.update().unchanged == 13
    check_consistent(idx.path)
