"""Pass 2, one shard: apply the global decisions (duplicates out, a split for each row,
source weights on the train split), then template + tokenize + labels (chat) or tokenize
(pretraining), and write per-split parts.

The chat template and the tokenizer are loaded once per worker process and reused for every
shard that process runs.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from forge.chat.conversation import Conversation
from forge.data.globalstep import read_range
from forge.data.model_side import eot_id
from forge.data.pass1 import BATCH, _Rejects, record_from_bytes
from forge.data.shardio import (
    OUTPUT_PARQUET,
    OUTPUT_ROW_GROUP,
    Ctx,
    begin,
    commit,
    shard_dir,
    stage_counts,
)
from forge.heap import gc_paused

CHAT_SCHEMA = pa.schema(
    [
        ("input_ids", pa.list_(pa.int32())),
        ("labels", pa.list_(pa.int32())),
        ("attention_mask", pa.list_(pa.int8())),
        ("text", pa.string()),
        ("messages", pa.string()),
        ("id", pa.string()),
    ]
)
REPORT_PARTIAL = "report.json"
"""The shard's partial of the report's per-row measurements (forge.data.report.partial)."""
_MODEL: dict[str, Any] = {}


def model_for(ctx: Ctx) -> tuple[Any, Any]:
    """(template or None, tokenizer), loaded once per process."""
    key = ctx.model.model_dump_json() + ctx.plan.kind
    if key not in _MODEL:
        from forge.data.model_side import load_template, load_tokenizer

        _MODEL.clear()
        tok = load_tokenizer(ctx.model)
        tpl = load_template(ctx.model) if ctx.plan.kind == "chat" else None
        _MODEL[key] = (tpl, tok)
    return _MODEL[key]


def copies(row_id: int, weight: float, seed: int) -> int:
    """How many times a train row is kept under a source weight (seeded, per row)."""
    whole = int(weight)
    frac = weight - whole
    if frac <= 0:
        return whole
    u = xxhash.xxh64_intdigest(row_id.to_bytes(8, "little", signed=True), seed) / 2**64
    return whole + (u < frac)


def _lists(
    seqs: list[list[int]], dtype: Any, pa_type: pa.DataType, offsets: pa.Array | None = None
) -> tuple[pa.Array, Any]:
    """(a list array of `seqs`, the flat values as numpy); `offsets`, when given, are the
    Arrow offsets of their lengths."""
    if offsets is None:
        off = np.zeros(len(seqs) + 1, np.int32)
        np.cumsum([len(s) for s in seqs], out=off[1:])
        offsets = pa.array(off)
    flat = np.fromiter(itertools.chain.from_iterable(seqs), dtype, offsets[-1].as_py())
    return pa.ListArray.from_arrays(offsets, pa.array(flat, pa_type)), flat


class _ChatParts:
    def __init__(self, tmp: Path, row_stats: Any = None):
        self.tmp = tmp
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.held: dict[str, list[pa.Table]] = {}
        """Tables not yet written, per split: a row group takes OUTPUT_ROW_GROUP rows."""
        self.lengths: dict[str, list[int]] = {}
        self.row_stats = row_stats
        """forge.data.report.partial.RowStats, or None when no report is wanted."""

    def write(self, split: str, rows: list[tuple[Any, bytes, str, list[dict]]]) -> None:
        """Rows: (Encoded, the messages as JSON bytes, row id, the messages)."""
        if not rows:
            return
        encs = [r[0] for r in rows]
        ids = [e.input_ids for e in encs]
        lens = np.fromiter(map(len, ids), np.int64, len(ids))
        offsets = np.zeros(len(rows) + 1, np.int32)
        np.cumsum(lens, out=offsets[1:])
        pa_offsets = pa.array(offsets)
        id_arr, _ = _lists(ids, np.int32, pa.int32(), pa_offsets)
        label_arr, flat_labels = _lists([e.labels for e in encs], np.int32, pa.int32(), pa_offsets)
        texts = [e.text for e in encs]
        row_ids = [r[2] for r in rows]
        table = pa.Table.from_arrays(
            [
                id_arr,
                label_arr,
                pa.ListArray.from_arrays(pa_offsets, pa.array(np.ones(int(offsets[-1]), np.int8))),
                pa.array(texts, pa.string()),
                pa.array([r[1] for r in rows], pa.string()),
                pa.array(row_ids, pa.string()),
            ],
            schema=CHAT_SCHEMA,
        )
        held = self.held.setdefault(split, [])
        held.append(table)
        if sum(len(t) for t in held) >= OUTPUT_ROW_GROUP:
            self._flush(split)
        self.lengths.setdefault(split, []).extend(lens.tolist())
        if self.row_stats is not None:
            # trainable tokens per row: label != -100, summed between the row offsets
            mark = np.concatenate(([0], np.cumsum(flat_labels != -100)))
            trainable = mark[offsets[1:]] - mark[offsets[:-1]]
            self.row_stats.add(split, lens, trainable, texts, [r[3] for r in rows], row_ids)

    def _flush(self, split: str) -> None:
        table = pa.concat_tables(self.held.pop(split, []))
        if split not in self.writers:
            self.writers[split] = pq.ParquetWriter(
                self.tmp / f"{split}.parquet", CHAT_SCHEMA, **OUTPUT_PARQUET
            )
        self.writers[split].write_table(table, row_group_size=OUTPUT_ROW_GROUP)

    def close(self) -> None:
        for split in list(self.held):
            self._flush(split)
        for w in self.writers.values():
            w.close()


class _TokenParts:
    def __init__(self, tmp: Path, dtype: Any):
        self.tmp = tmp
        self.dtype = dtype
        self.files: dict[str, Any] = {}
        self.lengths: dict[str, list[int]] = {}

    def write(self, split: str, docs: list[list[int]]) -> None:
        if split not in self.files:
            self.files[split] = open(self.tmp / f"{split}.bin", "wb")  # noqa: SIM115
        flat = np.fromiter(itertools.chain.from_iterable(docs), self.dtype)
        self.files[split].write(flat.astype("<" + np.dtype(self.dtype).str[1:]).tobytes())
        self.lengths.setdefault(split, []).extend(len(d) for d in docs)

    def close(self) -> None:
        for f in self.files.values():
            f.close()


def token_dtype(vocab_size: int) -> Any:
    return np.uint16 if vocab_size <= 65535 else np.uint32


def run_pass2(ctx: Ctx, index: int) -> dict[str, Any]:
    """Process shard ``index``; returns its stats (also written as the shard's marker). The
    cycle collector is off for the shard, as in pass 1: the rows make no reference cycles,
    and parsing them set it off again and again. In a process that has not frozen what it
    imported (`--workers 1` runs shards in the main process) that was a fifth of a shard's
    time."""
    with gc_paused():
        return _run_pass2(ctx, index)


def _run_pass2(ctx: Ctx, index: int) -> dict[str, Any]:
    plan, pre = ctx.plan, ctx.pre
    template, tok = model_for(ctx)
    work = Path(ctx.work)
    tmp = begin(work, "pass2", index)
    records = pq.ParquetFile(shard_dir(work, "pass1", index) / "records.parquet")
    counts = {s: stage_counts() for s in ("dedup", "sample", "encode")}
    splits_count: dict[str, int] = {}
    rejects = _Rejects(tmp / "rejected.jsonl")
    truncated = 0
    chat = plan.kind == "chat"
    row_stats = None
    if chat and pre.report and not pre.packing.enabled:
        # the report's per-row measurements, taken here while the rows are in memory
        from forge.data.report.partial import RowStats, text_stride

        kept_rows = pq.ParquetFile(work / "global" / "splits.parquet").metadata.num_rows
        row_stats = RowStats(text_stride(kept_rows))
    parts: Any = (
        _ChatParts(tmp, row_stats) if chat else _TokenParts(tmp, token_dtype(tok.vocab_size))
    )
    eot = eot_id(tok)
    max_tokens = ctx.max_tokens

    rid_col = records.read(columns=["row_id"])["row_id"]
    lo = int(np.min(rid_col.to_numpy())) if len(rid_col) else 0
    hi = int(np.max(rid_col.to_numpy())) if len(rid_col) else -1
    # The decisions for this shard's rows as numpy arrays searched by row id, not a Python
    # object per row: one compressed or non-line file is one shard, however many rows it has.
    dups = read_range(work / "global" / "duplicates.parquet", lo, hi)
    dup_ids, dup_of = dups["row_id"].to_numpy(), dups["dup_of"].to_numpy()
    dup_near = (dups["kind"].to_numpy(zero_copy_only=False) == "near") if len(dups) else []
    sp = read_range(work / "global" / "splits.parquet", lo, hi)
    sp_ids = sp["row_id"].to_numpy()
    enc = pc.dictionary_encode(sp["split"].combine_chunks())
    sp_names, sp_codes = enc.dictionary.to_pylist(), enc.indices.to_numpy(zero_copy_only=False)
    sp_copies = sp["copies"].to_numpy()

    for batch in records.iter_batches(batch_size=BATCH):
        d = batch.to_pydict()
        pending: dict[str, list] = {}
        # each row's decisions, looked up for the whole batch at once: the position of its row
        # id among the duplicates (-1: none) and among the split rows (-1: no split)
        rids = batch.column("row_id").to_numpy()
        dup_at = _positions(dup_ids, rids).tolist()
        split_at = _positions(sp_ids, rids).tolist()
        for rid, fidx, line, raw, d_pos, pos in zip(
            d["row_id"], d["file"], d["line"], d["record"], dup_at, split_at, strict=True
        ):
            f = plan.files[fidx]
            counts["dedup"]["in"] += 1
            if d_pos >= 0:
                counts["dedup"]["rejected"] += 1
                reason = "near_duplicate" if dup_near[d_pos] else "duplicate"
                other = int(dup_of[d_pos])
                rejects.add(f.path, line, "dedup", reason, f"duplicate of row {other}", rid)
                continue
            counts["dedup"]["out"] += 1
            counts["sample"]["in"] += 1
            if pos < 0:
                counts["sample"]["rejected"] += 1
                rejects.add(f.path, line, "sample", "no_split", "no split was assigned", rid)
                continue
            split = sp_names[sp_codes[pos]]
            weight = plan.sources[f.source].weight
            n = copies(rid, weight, pre.seed) if split == "train" and weight != 1 else 1
            n *= int(sp_copies[pos])  # class balancing (cap: 0, upsample: 2+)
            if n == 0:
                counts["sample"]["rejected"] += 1
                why = f"source weight {weight}" if sp_copies[pos] else "class balancing (cap)"
                rejects.add(f.path, line, "sample", "sampled_out", why, rid)
                continue
            counts["sample"]["out"] += 1
            rec = _record(raw, plan.kind)
            for k in range(n):
                rid_s = str(rid) if k == 0 else f"{rid}.{k}"
                pending.setdefault(split, []).append((rec, rid_s, f.path, line, rid))
        for split, items in pending.items():
            counts["encode"]["in"] += len(items)
            if chat:
                kept, trunc = _encode_chat(template, tok, items, pre, max_tokens, rejects)
                parts.write(split, kept)
            else:
                kept, trunc = _encode_text(tok, items, pre, max_tokens, eot, rejects)
                parts.write(split, kept)
            truncated += trunc
            counts["encode"]["out"] += len(kept)
            if kept:
                splits_count[split] = splits_count.get(split, 0) + len(kept)
        counts["encode"]["rejected"] = counts["encode"]["in"] - counts["encode"]["out"]
    parts.close()
    rejects.close()
    tokens = {}
    for split, lens in parts.lengths.items():
        arr = np.asarray(lens, np.int32)
        np.save(tmp / f"lengths-{split}.npy", arr)
        tokens[split] = int(arr.sum())
    if row_stats is not None:
        (tmp / REPORT_PARTIAL).write_bytes(orjson.dumps(row_stats.to_dict()))
    stats = {
        "shard": index,
        "counts": counts,
        "splits": splits_count,
        "tokens": tokens,
        "truncated": truncated,
    }
    commit(tmp, stats)
    return stats


def _positions(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Where each of `ids` is in `sorted_ids`, or -1 where it is not there."""
    if len(sorted_ids) == 0:
        return np.full(len(ids), -1, np.int64)
    pos = np.searchsorted(sorted_ids, ids).clip(max=len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == ids, pos, -1)


def _record(raw: bytes, kind: str) -> Any:
    """The record of a pass-1 row; a conversation comes with its messages as stored, which
    are what the `messages` column writes (Conversation.to_dict wrote them in pass 1)."""
    if kind == "pretrain":
        return record_from_bytes(raw, kind)
    d = orjson.loads(raw)
    return Conversation.from_dict(d), d["messages"]


def _encode_chat(template, tok, items, pre, max_tokens, rejects) -> tuple[list, int]:
    from forge.chat import encode_conversations

    convs = [it[0][0] for it in items]
    results = encode_conversations(
        template, tok, convs, policy=pre.mask, max_length=max_tokens, truncation=pre.truncation
    )
    kept, trunc = [], 0
    min_tokens = pre.filters.min_tokens
    long = max_tokens if max_tokens is not None and pre.truncation == "truncate" else None
    dumps = orjson.dumps
    for ((_, msgs), rid_s, path, line, rid), res in zip(items, results, strict=False):
        if not hasattr(res, "input_ids"):
            rejects.add(path, line, "encode", res.reason, getattr(res, "detail", ""), rid)
            continue
        n = len(res.input_ids)
        if n < min_tokens:
            rejects.add(path, line, "encode", "too_few_tokens", f"{n} tokens", rid)
            continue
        if long is not None and n >= long:
            trunc += 1
        # the messages column as UTF-8 JSON bytes (Arrow takes them for a string column as is)
        kept.append((res, dumps(msgs, default=str), rid_s, msgs))
    return kept, trunc


def _encode_text(tok, items, pre, max_tokens, eot, rejects) -> tuple[list, int]:
    encode = getattr(tok.tokenizer, "encode_batch_fast", tok.tokenizer.encode_batch)  # no offsets
    encs = encode([it[0].text for it in items], add_special_tokens=False)
    kept, trunc = [], 0
    limit = pre.filters.max_tokens  # documents longer than the context are normal in pretraining
    for (_, _, path, line, rid), enc in zip(items, encs, strict=False):
        ids = enc.ids
        if len(ids) < max(1, pre.filters.min_tokens):
            rejects.add(path, line, "encode", "too_few_tokens", f"{len(ids)} tokens", rid)
            continue
        if limit is not None and len(ids) > limit:
            if pre.truncation == "drop":
                rejects.add(path, line, "encode", "too_long", f"{len(ids)} > {limit} tokens", rid)
                continue
            ids = ids[:limit]
            trunc += 1
        kept.append([*ids, eot])
    return kept, trunc
