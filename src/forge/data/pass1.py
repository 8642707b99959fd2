"""Pass 1, one shard: read -> normalize -> clean + sanitize -> filter -> normalized records
plus a key table for the global step, and rejected rows with their stage and reason.

Per stage, rows in = rows out + rows rejected (normalize also counts the records it produced:
an OASST tree can yield several conversations).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from forge.chat.conversation import Conversation
from forge.data.clean import Cleaner, sanitize, total_chars
from forge.data.filters import Filters
from forge.data.keys import KeyMaker
from forge.data.normalize import Reject, normalize
from forge.data.oasst import MAX_PATHS
from forge.data.read import RawError, iter_records
from forge.data.records import TextDoc
from forge.data.shardio import SCRATCH_PARQUET, Ctx, begin, commit, stage_counts
from forge.heap import gc_paused

BATCH = 2000
STAGES = ("read", "normalize", "clean", "filter")
RECORD_SCHEMA = pa.schema(
    [
        ("row_id", pa.int64()),
        ("file", pa.int32()),
        ("line", pa.int64()),
        ("record", pa.binary()),
        ("n_chars", pa.int64()),
    ]
)


def row_id(file_index: int, record_index: int) -> int:
    """(source file index << 40) | record index: deterministic, lowest = earliest."""
    return (file_index << 40) | record_index


def record_to_bytes(rec: Conversation | TextDoc) -> bytes:
    if isinstance(rec, TextDoc):
        d: dict[str, Any] = {"text": rec.text}
        if rec.id is not None:
            d["id"] = rec.id
        if rec.meta:
            d["meta"] = rec.meta
        return orjson.dumps(d, default=str)
    if rec.tools is None and rec.id is None and not rec.meta:
        plain = [
            {"role": m.role, "content": m.content}
            for m in rec.messages
            if m.name is None
            and m.tool_calls is None
            and m.tool_call_id is None
            and m.reasoning is None
            and m.train is None
        ]
        if len(plain) == len(rec.messages):
            # what to_dict() gives for messages of role and content only, without its copies
            return orjson.dumps({"messages": plain}, default=str)
    d = rec.to_dict()
    d.pop("source", None)
    return orjson.dumps(d, default=str)


def record_from_bytes(data: bytes, kind: str) -> Conversation | TextDoc:
    d = orjson.loads(data)
    if kind == "pretrain":
        return TextDoc(d["text"], id=d.get("id"), meta=d.get("meta") or {})
    return Conversation.from_dict(d)


class _Rejects:
    def __init__(self, path: Path):
        self.f = open(path, "wb")  # noqa: SIM115 (closed by close())
        self.count = 0

    def add(self, path: str, line: int, stage: str, reason: str, detail: str, rid: int) -> None:
        self.f.write(
            orjson.dumps(
                {
                    "source": [path, line],
                    "stage": stage,
                    "reason": reason,
                    "detail": detail[:500],
                    "row_id": rid,
                }
            )
            + b"\n"
        )
        self.count += 1

    def close(self) -> None:
        self.f.close()


def run_pass1(ctx: Ctx, index: int) -> dict[str, Any]:
    """Process shard ``index``; returns its stats (also written as the shard's marker)."""
    # The rows make no reference cycles (reference counting frees them), but their many small
    # objects set off the cycle collector again and again, each time walking the live objects:
    # 3-10% of a shard's time. It is off for the shard and back on after.
    with gc_paused():
        return _run_pass1(ctx, index)


def _run_pass1(ctx: Ctx, index: int) -> dict[str, Any]:
    plan, pre = ctx.plan, ctx.pre
    shard = plan.shards[index]
    tmp = begin(ctx.work, "pass1", index)
    counts = {s: stage_counts() for s in STAGES}
    counts["normalize"]["produced"] = 0
    cleaner = Cleaner(pre.cleaning)
    filters = Filters(pre.filters)
    keys = KeyMaker(pre.dedup, pre.split)
    rejects = _Rejects(tmp / "rejected.jsonl")
    rec_writer = pq.ParquetWriter(tmp / "records.parquet", RECORD_SCHEMA, **SCRATCH_PARQUET)
    key_writer: pq.ParquetWriter | None = None
    batch: dict[str, list] = {k: [] for k in ("row_id", "file", "line", "record", "n_chars")}
    recs: list[Conversation | TextDoc] = []
    chars = 0

    def flush() -> None:
        nonlocal key_writer
        if not recs:
            return
        key_table = keys.table(batch["row_id"], recs)
        if key_writer is None:
            key_writer = pq.ParquetWriter(tmp / "keys.parquet", key_table.schema, **SCRATCH_PARQUET)
        key_writer.write_table(key_table)
        rec_writer.write_table(pa.table(batch, schema=RECORD_SCHEMA))
        for v in batch.values():
            v.clear()
        recs.clear()

    # Stage counters in locals (a dict update per row and stage was a measurable share of a
    # shard's time). Rows in at read and clean, rejected at each stage; the rest follows:
    # out = in - rejected, and a stage's input is the previous stage's output.
    read_in = read_rej = norm_rej = clean_in = clean_rej = filt_rej = produced = 0
    add_row, add_file, add_line = batch["row_id"].append, batch["file"].append, batch["line"].append
    add_record, add_chars = batch["record"].append, batch["n_chars"].append
    for piece in shard.pieces:
        f = plan.files[piece.file]
        src = plan.sources[f.source]
        expand_ids = src.format == "oasst" and src.oasst_paths == "all"
        fmt, fields, oasst_paths = src.format, src.fields, src.oasst_paths
        file_bits = row_id(f.index, 0)  # row_id(f.index, i) == file_bits | i
        for rec_index, line, obj in iter_records(
            f.path,
            f.encoding,
            kind=f.kind,
            start=piece.start,
            end=piece.end,
            first_line=piece.first_line,
        ):
            read_in += 1
            base_id = file_bits | rec_index
            if isinstance(obj, RawError):
                read_rej += 1
                rejects.add(f.path, line, "read", obj.reason, obj.detail, base_id)
                continue
            try:
                out = normalize(obj, fmt, fields, oasst_paths=oasst_paths)
            except Reject as r:
                norm_rej += 1
                rejects.add(f.path, line, "normalize", r.reason, r.detail, base_id)
                continue
            produced += len(out)
            for k, rec in enumerate(out[:MAX_PATHS] if len(out) > 1 else out):
                rid = file_bits | (rec_index * MAX_PATHS + k) if expand_ids else base_id
                clean_in += 1
                try:
                    if isinstance(rec, TextDoc):
                        cleaner.doc(rec)
                        if not rec.text.strip():
                            raise Reject("empty_text", "no text left after cleaning")
                    else:
                        sanitize(cleaner.conversation(rec))
                except Reject as r:
                    clean_rej += 1
                    rejects.add(f.path, line, "clean", r.reason, r.detail, rid)
                    continue
                n = total_chars(rec)
                try:
                    filters.check(rec, n)
                except Reject as r:
                    filt_rej += 1
                    rejects.add(f.path, line, "filter", r.reason, r.detail, rid)
                    continue
                chars += n
                add_row(rid)
                add_file(f.index)
                add_line(line)
                add_record(record_to_bytes(rec))
                add_chars(n)
                recs.append(rec)
                if len(recs) >= BATCH:
                    flush()
    norm_in = read_in - read_rej
    filt_in = clean_in - clean_rej
    for stage, n_in, n_rej in (
        ("read", read_in, read_rej),
        ("normalize", norm_in, norm_rej),
        ("clean", clean_in, clean_rej),
        ("filter", filt_in, filt_rej),
    ):
        counts[stage]["in"] = n_in
        counts[stage]["out"] = n_in - n_rej
        counts[stage]["rejected"] = n_rej
    counts["normalize"]["produced"] = produced
    flush()
    rec_writer.close()
    if key_writer is None:  # an empty shard still has a (typed) key table
        pq.write_table(keys.table([], []), tmp / "keys.parquet", **SCRATCH_PARQUET)
    else:
        key_writer.close()
    rejects.close()
    stats = {
        "shard": index,
        "counts": counts,
        "chars": chars,
        "encoding_repaired": cleaner.repaired,
        "artifacts_removed": cleaner.artifacts,
    }
    commit(tmp, stats)
    return stats
