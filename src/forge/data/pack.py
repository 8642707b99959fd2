"""Packing tokenized rows into fixed-length sequences: best-fit decreasing over a whole split.

Rows are placed longest first, each into the open sequence with the least room that still
fits it (a new one when none does). Finding that sequence is a query "smallest remaining
capacity >= length" over a count-per-capacity segment tree, O(log max_length) per row, so a
split of n rows packs in O(n log max_length) rather than the O(n^2) of scanning open bins.

A packed row keeps each document whole and marks where documents start: `position_ids`
restart at 0 for every document and `seq_lengths` lists the document lengths, so a trainer
can keep attention inside each document. The first label of every document is -100, the
same loss an unpacked row gets (its first token is never predicted), so the last token of
one document is never trained to predict the first token of the next. No token is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forge.errors import ForgeError


class _CapacityTree:
    """Counts of open bins per remaining capacity 0..max_length, with the query
    `first capacity >= x that has a bin`."""

    def __init__(self, max_length: int):
        size = 1
        while size < max_length + 1:
            size *= 2
        self.size = size
        self.count = [0] * (2 * size)

    def add(self, cap: int, delta: int) -> None:
        i = cap + self.size
        while i:
            self.count[i] += delta
            i >>= 1

    def first_at_least(self, x: int) -> int | None:
        count, i = self.count, x + self.size
        if count[i]:
            return x
        while i > 1:  # climb until a right sibling holds a bin, then descend leftmost
            if not i & 1 and count[i + 1]:
                i += 1
                while i < self.size:
                    i = 2 * i if count[2 * i] else 2 * i + 1
                return i - self.size
            i >>= 1
        return None


def pack_rows(lengths: Sequence[int], max_length: int) -> list[list[int]]:
    """Best-fit decreasing: bins (lists of row indices) whose lengths sum to <= max_length.

    Deterministic: ties in length keep input order; among bins with equal room the most
    recently filled one is used. A row longer than max_length is a ForgeError (truncate or
    drop it before packing).
    """
    lens = np.asarray(lengths, dtype=np.int64)
    if max_length <= 0:
        raise ForgeError(f"packing max_length must be positive (got {max_length})")
    if len(lens) and lens.max() > max_length:
        i = int(np.argmax(lens))
        raise ForgeError(
            f"row {i} has {int(lens[i])} tokens, more than the packed length {max_length}",
            "truncate or drop over-length rows before packing, or raise max_length",
        )
    tree = _CapacityTree(max_length)
    by_cap: dict[int, list[int]] = {}
    bins: list[list[int]] = []
    for i in np.argsort(-lens, kind="stable").tolist():
        n = int(lens[i])
        cap = tree.first_at_least(n)
        if cap is None:
            b, cap = len(bins), max_length
            bins.append([])
        else:
            b = by_cap[cap].pop()
            tree.add(cap, -1)
        bins[b].append(i)
        left = cap - n
        by_cap.setdefault(left, []).append(b)
        tree.add(left, 1)
    return bins


def fill_rate(lengths: Sequence[int], bins: list[list[int]], max_length: int) -> float:
    """Tokens placed / (sequences x max_length)."""
    if not bins:
        return 0.0
    return float(np.sum(np.asarray(lengths, dtype=np.int64))) / (len(bins) * max_length)


def _flat(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return pc.list_flatten(arr).to_numpy(zero_copy_only=False)


def _lists(offsets: np.ndarray, values: np.ndarray, typ: pa.DataType) -> pa.ListArray:
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(values, typ))


def pack_table(table: pa.Table, max_length: int) -> pa.Table:
    """Packed rows from a tokenized table (`input_ids`, optional `labels`, `id`).

    Columns: input_ids, labels, attention_mask, position_ids (restarting per document),
    seq_lengths (document lengths in order), and `ids` (the documents' ids) when the input
    has `id`. The fill rate is in the schema metadata under `forge.fill_rate`.
    """
    if "input_ids" not in table.column_names:
        raise ForgeError("packing needs an `input_ids` column", "tokenize the rows first")
    lengths = pc.list_value_length(table.column("input_ids")).to_numpy(zero_copy_only=False)
    lengths = np.nan_to_num(lengths.astype(np.float64)).astype(np.int64)  # null rows: 0
    bins = pack_rows(lengths, max_length)
    order = np.array([i for b in bins for i in b], dtype=np.int64)
    taken = table.take(pa.array(order))
    doc_len = lengths[order]
    ids = _flat(taken.column("input_ids")).astype(np.int32)
    labels = (
        _flat(taken.column("labels")).astype(np.int32)
        if "labels" in table.column_names
        else ids.copy()
    )
    doc_start = (np.cumsum(doc_len) - doc_len).astype(np.int64)
    positions = (np.arange(len(ids)) - np.repeat(doc_start, doc_len)).astype(np.int32)
    labels[doc_start[doc_len > 0]] = -100
    bin_docs = np.array([len(b) for b in bins], dtype=np.int64)
    doc_off = np.concatenate(([0], np.cumsum(bin_docs)))
    tok_off = np.concatenate(([0], np.cumsum(doc_len)))[doc_off]
    cols = {
        "input_ids": _lists(tok_off, ids, pa.int32()),
        "labels": _lists(tok_off, labels, pa.int32()),
        "attention_mask": _lists(tok_off, np.ones(len(ids), np.int8), pa.int8()),
        "position_ids": _lists(tok_off, positions, pa.int32()),
        "seq_lengths": _lists(doc_off, doc_len.astype(np.int32), pa.int32()),
    }
    if "id" in table.column_names:
        doc_ids = taken.column("id").cast(pa.string()).combine_chunks()
        cols["ids"] = pa.ListArray.from_arrays(pa.array(doc_off, pa.int32()), doc_ids)
    rate = fill_rate(lengths, bins, max_length)
    return pa.table(cols).replace_schema_metadata(
        {"forge.fill_rate": f"{rate:.6f}", "forge.max_length": str(max_length)}
    )


def pack_stats(table: pa.Table) -> dict[str, float | int]:
    """Sequences, documents, tokens and fill rate of a packed table."""
    meta = table.schema.metadata or {}
    max_length = int(meta.get(b"forge.max_length", b"0"))
    tokens = int(pc.sum(pc.list_value_length(table.column("input_ids"))).as_py() or 0)
    docs = int(pc.sum(pc.list_value_length(table.column("seq_lengths"))).as_py() or 0)
    n = table.num_rows
    return {
        "sequences": n,
        "documents": docs,
        "tokens": tokens,
        "max_length": max_length,
        "fill_rate": tokens / (n * max_length) if n and max_length else 0.0,
    }
