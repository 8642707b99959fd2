"""Fixtures for the index tests: the real markdown data, one loaded embedder per session.

Embedding with the real model costs CPU, so the tests work on small subsets (tens of files)
copied into a temporary folder, and the model is loaded once for the whole session.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from forge.config.index import IndexConfig
from forge.index import Chunker, Index
from forge.index.embed import SentenceTransformerEmbedder, minilm_folder

RUST_CHAPTERS = ("ch13-01-closures.md", "ch08-01-vectors.md", "ch03-04-comments.md")
TLDR_PAGES = ("tar", "git-commit", "grep", "curl", "ssh", "rsync", "find", "sed", "awk", "docker")


@pytest.fixture(scope="session")
def markdown_dir(shared_data: Path) -> Path:
    d = shared_data / "markdown"
    if not d.is_dir():
        pytest.skip(f"{d} not found")
    return d


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The default embedder (all-MiniLM-L6-v2, offline package), loaded once per session."""
    return SentenceTransformerEmbedder(minilm_folder(), name="all-MiniLM-L6-v2", batch_size=32)


class CachedEmbedder:
    """The real embedder behind a per-session memo, so tests that rebuild the same files do
    not pay for the model again. ``calls`` counts the texts that reached it from an index."""

    def __init__(self, inner: SentenceTransformerEmbedder):
        self.inner = inner
        self.name = inner.name
        self.max_tokens = inner.max_tokens
        self.memo: dict[str, np.ndarray] = {}
        self.calls = 0

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self.inner.count_tokens(texts)

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        todo = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if todo:
            self.memo.update(zip(todo, self.inner.embed(todo), strict=True))
        return np.stack([self.memo[t] for t in texts])


@pytest.fixture(scope="session")
def cached_embedder(embedder: SentenceTransformerEmbedder) -> CachedEmbedder:
    return CachedEmbedder(embedder)


@pytest.fixture(scope="session")
def chunker(embedder: SentenceTransformerEmbedder) -> Chunker:
    return Chunker(embedder.count_tokens, embedder.max_tokens)


@pytest.fixture
def corpus(tmp_path: Path, markdown_dir: Path) -> Path:
    """Three rust book chapters and ten tldr pages, copied so tests may edit them."""
    root = tmp_path / "docs"
    (root / "book").mkdir(parents=True)
    (root / "tldr").mkdir()
    for name in RUST_CHAPTERS:
        shutil.copy(markdown_dir / "rust-book" / "src" / name, root / "book" / name)
    for page in TLDR_PAGES:
        shutil.copy(markdown_dir / "tldr" / "pages" / "common" / f"{page}.md", root / "tldr")
    return root


@pytest.fixture
def make_index(tmp_path: Path, cached_embedder: CachedEmbedder):
    """Open an index in the temporary folder that shares the session's model (and memo)."""
    opened: list[Index] = []

    def make(name: str = "index.db", **config) -> Index:
        db = tmp_path / ".forge" / name
        idx = Index(db, config=IndexConfig(path=str(db), **config), embedder=cached_embedder)
        opened.append(idx)
        return idx

    yield make
    for idx in opened:
        idx.close()
