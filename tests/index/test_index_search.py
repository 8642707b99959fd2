"""Search on a real subset: exact vector recall, fusion, filters, snippets, the nearest() hook."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from forge.errors import ForgeError
from forge.index.search import fts_query, rrf, snippet

QUERIES = [
    "how do closures capture variables from their environment",
    "comments that span several lines",
    "create a compressed archive",
    "copy files to a remote machine over ssh",
    "store a list of values of the same type",
    "replace text in a file with a regular expression",
    "run a container from an image",
    "commit staged changes with a message",
]


@pytest.fixture
def built(corpus: Path, make_index):
    idx = make_index()
    report = idx.update([corpus])
    assert report.added == 13 and report.embedded == report.chunks > 13
    return idx


def test_vector_search_is_exact_against_brute_force(built, corpus: Path, chunker, cached_embedder):
    # Brute force from scratch: chunk every file again, embed every chunk, sort all scores.
    chunks = []
    for f in sorted(corpus.rglob("*.md")):
        chunks += chunker.chunk(
            f.read_text(encoding="utf-8"), f.relative_to(corpus.parent).as_posix()
        )[1]
    vectors = cached_embedder.embed([c.embed_text for c in chunks])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # The memo holds what the model itself returns: spot-check a few against a fresh pass.
    fresh = cached_embedder.inner.embed([c.embed_text for c in chunks[:3]])
    assert np.allclose(fresh, vectors[:3], atol=1e-5)
    for q in QUERIES:
        qv = cached_embedder.embed([q])[0]
        order = np.argsort(-(vectors @ qv), kind="stable")[:10]
        expected = [(chunks[i].path, chunks[i].start_line, chunks[i].end_line) for i in order]
        hits = built.search(q, k=10, mode="vector")
        got = [(h.path, h.start_line, h.end_line) for h in hits]
        assert set(got) == set(expected), q  # recall@10 = 1.0
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_modes_find_the_right_section(built):
    top = built.search("how do closures capture variables from their environment", k=3)
    assert top[0].path.endswith("ch13-01-closures.md")
    assert "Capturing References or Moving Ownership" in " ".join(h.heading for h in top)
    assert built.search("rsync", k=1, mode="bm25")[0].path.endswith("tldr/rsync.md")
    hit = built.search("compressed archive", k=1, mode="hybrid")[0]
    assert hit.path.endswith("tldr/tar.md")
    assert "«compressed»" in hit.snippet and "«archive" in hit.snippet
    lines = (Path(built.root) / hit.path).read_text().split("\n")
    assert hit.text in "\n".join(lines[hit.start_line - 1 : hit.end_line])


def test_hybrid_is_the_rrf_of_both_rankings(built):
    q = "move ownership of a value into a closure"
    depth = 50
    b = built.search(q, k=depth, mode="bm25")
    v = built.search(q, k=depth, mode="vector")
    fused = rrf([[(h.chunk_id, h.score) for h in b], [(h.chunk_id, h.score) for h in v]], k=60)
    hybrid = built.search(q, k=10, mode="hybrid")
    assert [h.chunk_id for h in hybrid] == [cid for cid, _ in fused[:10]]
    assert hybrid[0].score == pytest.approx(fused[0][1], abs=1e-6)


def test_filters_by_path_glob_and_front_matter(built, corpus: Path):
    assert {h.path.split("/")[1] for h in built.search("files", k=20, path="docs/tldr/*")} == {
        "tldr"
    }
    note = corpus / "notes" / "memo.md"
    note.parent.mkdir()
    note.write_text("---\ntags: [rust, memory]\ndraft: true\n---\n# Memo\n\nClosures borrow.\n")
    built.update()
    hits = built.search("closures", k=5, where={"tags": "rust"})
    assert [h.path for h in hits] == ["docs/notes/memo.md"]
    assert hits[0].meta == {"tags": ["rust", "memory"], "draft": True}
    assert built.search("closures", k=5, where={"draft": "true", "tags": "memory"})
    assert built.search("closures", k=5, where={"tags": "python"}) == []
    assert built.search("closures", k=5, mode="vector", where={"tags": "python"}) == []


def test_nearest_returns_training_like_neighbours(built):
    text = "The closure captures an immutable reference to the vector named list"
    hits = built.nearest(text, k=3)
    assert len(hits) == 3 and hits[0].path.endswith("ch13-01-closures.md")
    assert hits[0].score > 0.5


def test_bad_search_arguments_are_user_errors(built):
    with pytest.raises(ForgeError, match="unknown search mode"):
        built.search("x", mode="fuzzy")
    with pytest.raises(ForgeError, match="k must be at least 1"):
        built.search("x", k=0)
    assert built.search("!!! ???", k=3, mode="bm25") == []


def test_query_and_snippet_helpers():
    assert fts_query('how do "closures" capture?') == '"closures" OR "capture"'
    assert fts_query("the") == '"the"'  # only stopwords: keep them rather than nothing
    s = snippet("Closures can capture values. " * 30, ["closures", "capturing"], width=80)
    assert s.startswith("«Closures» can «capture»") and len(s) < 120
