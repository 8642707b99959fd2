"""Exact and near (MinHash LSH) deduplication over pass-1 key tables. See docs/quality.md."""

from forge.data.dedup.find import find_duplicates
from forge.data.dedup.hashing import content_text, exact_hash, fold
from forge.data.dedup.keys import key_schema, key_table, row_id
from forge.data.dedup.minhash import MinHasher, estimated_jaccard

__all__ = [
    "MinHasher",
    "content_text",
    "estimated_jaccard",
    "exact_hash",
    "find_duplicates",
    "fold",
    "key_schema",
    "key_table",
    "row_id",
]
