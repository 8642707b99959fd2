"""Ranking: BM25 (SQLite FTS5), exact vector search (numpy), and their fusion (RRF).

All three run inside one read transaction (see ``Index.search``), so the keyword ranking, the
vector matrix and the rows returned come from the same snapshot of the index.
"""

from __future__ import annotations

import fnmatch
import re
import sqlite3
import sys
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import orjson

# Words that match nearly every chunk: they slow BM25 down and add nothing to the ranking.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "so",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(slots=True)
class Hit:
    score: float
    path: str
    heading: str
    start_line: int
    end_line: int
    snippet: str  # query terms wrapped in « »
    text: str
    chunk_id: int
    meta: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def query_terms(query: str) -> list[str]:
    words = [w.lower() for w in _WORD.findall(query)]
    content = [w for w in words if w not in STOPWORDS]
    return list(dict.fromkeys(content or words))


def fts_query(query: str) -> str | None:
    """A free-text query as an FTS5 expression: any term may match, BM25 weighs them."""
    terms = query_terms(query)
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms) if terms else None


def bm25(
    conn: sqlite3.Connection, query: str, n: int, doc_ids: list[int] | None
) -> list[tuple[int, float]]:
    """Top ``n`` (chunk id, score) by BM25, higher is better. Headings weigh twice the text."""
    match = fts_query(query)
    if match is None:
        return []
    sql = "SELECT rowid, -bm25(chunks_fts, 2.0, 1.0) AS s FROM chunks_fts WHERE chunks_fts MATCH ?"
    args: list[Any] = [match]
    if doc_ids is not None:
        sql += (
            " AND rowid IN (SELECT id FROM chunks WHERE doc_id IN (SELECT value FROM json_each(?)))"
        )
        args.append(orjson.dumps(doc_ids).decode())
    sql += " ORDER BY bm25(chunks_fts, 2.0, 1.0) LIMIT ?"
    args.append(n)
    return [(int(r[0]), float(r[1])) for r in conn.execute(sql, args)]


def vector(
    ids: np.ndarray, matrix: np.ndarray, q: np.ndarray, n: int, mask: np.ndarray | None
) -> list[tuple[int, float]]:
    """Exact top ``n`` by cosine (the vectors are normalized, so a dot product)."""
    if len(ids) == 0:
        return []
    scores = _dot(matrix, q)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
        n = min(n, int(mask.sum()))
    n = min(n, len(ids))
    if n <= 0:
        return []
    top = np.argpartition(-scores, n - 1)[:n] if n < len(ids) else np.arange(len(ids))
    top = top[np.lexsort((ids[top], -scores[top]))]  # by score, ties by id: deterministic
    return [(int(ids[i]), float(scores[i])) for i in top]


def _dot(matrix: np.ndarray, q: np.ndarray) -> np.ndarray:
    """matrix @ q. numpy's OpenBLAS splits this product across threads, which stalls on a busy
    machine (12 ms against 2 ms measured for 11.5k x 384); torch, when the embedder has loaded
    it, runs it on the thread count the query path chose (one)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return matrix @ q
    return (torch.from_numpy(matrix) @ torch.from_numpy(q)).numpy()


def rrf(rankings: list[list[tuple[int, float]]], k: int) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: score = sum over rankings of 1 / (k + rank), rank from 1."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (cid, _) in enumerate(ranking, start=1):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def matches_meta(meta: dict[str, Any], where: dict[str, str]) -> bool:
    """Front-matter filter: every key equal to its value (a list field: contains it)."""
    for key, want in where.items():
        have = meta.get(key)
        values = have if isinstance(have, list) else [have]
        if not any(_same(v, want) for v in values if v is not None):
            return False
    return True


def _same(value: Any, want: str) -> bool:
    if isinstance(value, bool):
        return str(value).lower() == want.lower()
    return str(value) == want


def filter_docs(
    conn: sqlite3.Connection, path_glob: str | None, where: dict[str, str] | None
) -> list[int] | None:
    """Document ids passing the filters, or None when there is no filter."""
    if not path_glob and not where:
        return None
    out = []
    for doc_id, path, meta in conn.execute("SELECT id, path, meta FROM documents"):
        if path_glob and not fnmatch.fnmatchcase(path, path_glob):
            continue
        if where and not matches_meta(orjson.loads(meta), where):
            continue
        out.append(doc_id)
    return out


def snippet(text: str, terms: list[str], width: int = 220) -> str:
    """The window of ``text`` with the most query terms, the terms wrapped in « »."""
    flat = " ".join(text.split())
    stems = sorted({_stem(t) for t in terms if len(t) > 1}, key=len, reverse=True)
    if not stems:
        return _cut(flat, 0, width)
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(s) for s in stems) + r")\w*", re.I)
    hits = [m.start() for m in pattern.finditer(flat)]
    start = 0
    if hits:
        best = max(hits, key=lambda h: sum(1 for x in hits if h <= x < h + width))
        start = max(0, best - 40)
        while start > 0 and not flat[start - 1].isspace():
            start -= 1
    window = _cut(flat, start, width)
    return pattern.sub(lambda m: f"«{m.group(0)}»", window)


def _cut(flat: str, start: int, width: int) -> str:
    end = min(len(flat), start + width)
    if end < len(flat):
        space = flat.rfind(" ", start, end)
        end = space if space > start else end
    body = flat[start:end]
    return ("…" if start > 0 else "") + body + ("…" if end < len(flat) else "")


def _stem(word: str) -> str:
    """Crude suffix stripping so `closures` marks `closure` and `capturing` marks `capture`."""
    for suffix in ("ing", "es", "ed", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word
