"""`index:` the markdown knowledge base (`forge index`, `forge search`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from forge.config.base import Section


class IndexConfig(Section):
    path: str = Field(".forge/index.db", description="The index file (one SQLite database).")
    embedder: str = Field(
        "all-MiniLM-L6-v2",
        description="Embedding model: `all-MiniLM-L6-v2` (offline package), another registered "
        "embedder, or a local sentence-transformers folder.",
    )
    backend: Literal["auto", "torch", "transformers", "sentence-transformers"] = Field(
        "auto",
        description="How a model folder runs: `torch` (a Transformer + Pooling(mean/cls/max) "
        "[+ Normalize] folder whose encoder is a BERT, run with torch alone: the lightest), "
        "`transformers` (such a folder with any transformers encoder), "
        "`sentence-transformers` (any folder; its imports cost about 270 MB more resident "
        "memory), or `auto` (the first of these the folder allows). All give the same vectors.",
    )
    sources: list[str] = Field(
        default_factory=list,
        description="Files or folders `forge index` reads when given no PATH (the paths of the "
        "last update are remembered in the index too).",
    )
    include: list[str] = Field(
        default_factory=lambda: ["*.md", "*.markdown"],
        description="File name patterns indexed inside a folder.",
    )
    exclude: list[str] = Field(
        default_factory=lambda: [".git", ".forge", "node_modules", ".venv"],
        description="File or folder names skipped while walking a folder.",
    )
    max_tokens: int | None = Field(
        None,
        gt=16,
        description="Chunk limit in the embedder's tokens (special tokens included); empty "
        "means the model's own limit (256 for all-MiniLM-L6-v2). It can only be lowered.",
    )
    overlap_tokens: int = Field(
        48,
        ge=0,
        description="A section's next chunk repeats the previous chunk's last block when the "
        "block is at most this many tokens.",
    )
    batch_size: int = Field(
        16,
        gt=0,
        description="Texts per forward pass of the embedder (at most, on the torch backend). "
        "Larger batches use the CPU a little better (64 took about 20% less CPU time than 16 "
        "here) but hold much more memory.",
    )
    batch_tokens: int = Field(
        2048,
        gt=16,
        description="torch backend: most padded tokens (texts x the longest one's tokens) per "
        "forward pass. Texts go longest first, so long ones share small batches and short "
        "ones fill batch_size; this bounds what a batch holds in memory.",
    )
    embed_group: int = Field(
        2048,
        gt=0,
        description="Chunks gathered across files before they are embedded together, longest "
        "first (larger groups pad less; files are still committed one transaction each).",
    )
    threads: int | None = Field(
        None, gt=0, description="Torch CPU threads for embedding; empty means every usable core."
    )
    mode: Literal["hybrid", "bm25", "vector"] = Field(
        "hybrid", description="Default search mode: BM25 and vector ranks fused (RRF), or one."
    )
    rrf_k: int = Field(60, gt=0, description="Reciprocal rank fusion constant.")
