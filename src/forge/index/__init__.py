"""The markdown knowledge base: parse, chunk, embed, store (one SQLite file), search, watch.

Stands alone: it imports only forge.errors, forge.config and forge.registry.
"""

from forge.index.chunk import Chunk, Chunker
from forge.index.embed import Embedder, SentenceTransformerEmbedder, make_embedder
from forge.index.index import Index, Status, UpdateReport
from forge.index.search import Hit

__all__ = [
    "Chunk",
    "Chunker",
    "Embedder",
    "Hit",
    "Index",
    "SentenceTransformerEmbedder",
    "Status",
    "UpdateReport",
    "make_embedder",
]
