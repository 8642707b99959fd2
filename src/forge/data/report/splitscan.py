"""Streaming over a prepared dataset's split files for the report.

Token statistics are exact and cover every row (vectorized per batch); the per-row text
measurements (language, encoding, conversation shape) cover every row up to TEXT_ROWS and an
even sample beyond, so a report on millions of rows stays fast and small. Memory is one
record batch plus a few integers per row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from forge.data.report.common import TextStats
from forge.data.report.partial import measured_text
from forge.data.report.stats import ConversationStats, distribution

TEXT_ROWS = 200_000
_BATCH = 4096
_COLUMNS = ("input_ids", "labels", "seq_lengths", "text", "messages", "id")


def list_lengths(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return pc.list_value_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)


def trainable(labels: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Tokens per row whose label is not -100."""
    arr = labels.combine_chunks() if isinstance(labels, pa.ChunkedArray) else labels
    flat = pc.list_flatten(arr).to_numpy(zero_copy_only=False)
    offsets = arr.offsets.to_numpy()
    offsets = offsets - offsets[0]  # a sliced batch's offsets need not start at 0
    mark = np.concatenate(([0], np.cumsum(flat != -100)))
    return mark[offsets[1:]] - mark[offsets[:-1]]


def messages_of(raw: Any) -> list[dict[str, Any]] | None:
    if raw is None:
        return None
    try:
        m = orjson.loads(raw) if isinstance(raw, (str, bytes)) else raw
    except orjson.JSONDecodeError:
        return None
    if isinstance(m, dict):
        m = m.get("messages")
    return m if isinstance(m, list) else None


class Scan:
    """Accumulates the whole dataset's text measurements across splits."""

    def __init__(self, total_rows: int, want_ids: set[str], keep_texts: bool):
        self.stride = max(1, -(-total_rows // TEXT_ROWS))
        self.seen = 0
        self.convs, self.text = ConversationStats(), TextStats()
        self.want_ids = want_ids
        self.texts_by_id: dict[str, str] = {}
        self.keep_texts = keep_texts
        self.texts: list[str] = []
        self.split_of: list[str] = []
        self.where: list[Any] = []

    @property
    def sampled(self) -> bool:
        return self.stride > 1

    def split(self, name: str, paths: list[Path]) -> dict[str, Any]:
        n_tok, n_train, n_chars, docs = [], [], [], 0
        rows, fill = 0, None
        for path in paths:
            # No whole-row-group pre-buffering: read column chunks in 1 MB pieces.
            pf = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
            names = pf.schema_arrow.names
            meta = pf.schema_arrow.metadata or {}
            if b"forge.fill_rate" in meta:
                fill = float(meta[b"forge.fill_rate"])
            cols = [c for c in _COLUMNS if c in names]
            for batch in pf.iter_batches(batch_size=_BATCH, columns=cols):
                if "input_ids" in cols:
                    n_tok.append(list_lengths(batch.column("input_ids")))
                if "labels" in cols:
                    n_train.append(trainable(batch.column("labels")))
                if "seq_lengths" in cols:  # packed: rows are sequences of several documents
                    docs += int(list_lengths(batch.column("seq_lengths")).sum())
                self._rows(name, batch, rows, n_chars)
                rows += len(batch)
                # Freed decode buffers would otherwise stay with Arrow's allocator.
                pa.default_memory_pool().release_unused()
        entry: dict[str, Any] = {"rows": rows, "files": [p.name for p in paths]}
        if n_tok:
            t = np.concatenate(n_tok)
            entry["tokens"], entry["tokens_total"] = distribution(t), int(t.sum())
        if n_train:
            t = np.concatenate(n_train)
            entry["trainable_tokens"], entry["trainable_total"] = distribution(t), int(t.sum())
        if n_chars:
            entry["chars"] = distribution(n_chars)
        if docs:
            entry["documents"] = docs
        if fill is not None:
            entry["fill_rate"] = fill
        return entry

    def _rows(self, split: str, batch: pa.RecordBatch, start: int, n_chars: list[int]) -> None:
        names = batch.schema.names
        texts = batch.column("text").to_pylist() if "text" in names else None
        msgs = batch.column("messages").to_pylist() if "messages" in names else None
        ids = batch.column("id").to_pylist() if "id" in names else [None] * len(batch)
        if texts is not None:
            n_chars.extend(len(x or "") for x in texts)
        for i in range(len(batch)):
            self.seen += 1
            rid = None if ids[i] is None else str(ids[i])
            keep = self.keep_texts or (rid is not None and rid in self.want_ids)
            if self.seen % self.stride and not keep:
                continue
            m = messages_of(msgs[i]) if msgs is not None else None
            text = measured_text(m, texts[i] if texts is not None else None)
            if rid is not None and rid in self.want_ids:
                self.texts_by_id[rid] = text
            if self.keep_texts:
                self.texts.append(text)
                self.split_of.append(split)
                self.where.append([split, rid if rid is not None else start + i])
            if self.seen % self.stride == 0:
                if m is not None:
                    self.convs.add(m)
                self.text.add(text, [split, rid if rid is not None else start + i])
