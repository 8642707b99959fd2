"""`index:` the markdown knowledge base (`forge index`, `forge search`)."""

from __future__ import annotations

from pydantic import Field

from forge.config.base import Section


class IndexConfig(Section):
    path: str = Field(".forge/index.db", description="The index file (one SQLite database).")
    embedder: str = Field(
        "all-MiniLM-L6-v2",
        description="Embedding model: `all-MiniLM-L6-v2` (offline package) or a local "
        "sentence-transformers folder.",
    )
