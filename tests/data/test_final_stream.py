"""The chat split files written while pass 2 runs (forge.data.final.StreamedSplits) are the
bytes the final step writes after it, whatever order the shards finish in."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from forge.data.final import ROW_GROUP, StreamedSplits, _SplitFile
from forge.data.pass2 import CHAT_SCHEMA
from forge.data.shardio import MARKER, shard_dir


def _part(rows: int, seed: int) -> pa.Table:
    rng = random.Random(seed)
    ids = [[rng.randrange(1000) for _ in range(rng.randrange(1, 40))] for _ in range(rows)]
    return pa.table(
        {
            "input_ids": ids,
            "labels": [[-100, *x[1:]] for x in ids],
            "attention_mask": [[1] * len(x) for x in ids],
            "text": [f"row {seed}-{k}" for k in range(rows)],
            "messages": ["[]"] * rows,
            "id": [f"{seed}-{k}" for k in range(rows)],
        },
        schema=CHAT_SCHEMA,
    )


def _shards(work: Path, n: int) -> None:
    """n finished pass-2 shards: parts of uneven sizes (some over ROW_GROUP, in several row
    groups), validation in some shards only, one shard with no rows at all."""
    for i in range(n):
        folder = shard_dir(work, "pass2", i)
        folder.mkdir(parents=True)
        splits = {}
        if i != 3:
            rows = ROW_GROUP + 500 if i == 1 else 700 + 37 * i
            pq.write_table(_part(rows, i), folder / "train.parquet", row_group_size=4000)
            splits["train"] = rows
        if i % 2 == 0 and i != 3:
            pq.write_table(_part(50 + i, 100 + i), folder / "validation.parquet")
            splits["validation"] = 50 + i
        (folder / MARKER).write_bytes(orjson.dumps({"splits": splits}))


def test_streamed_splits_equal_the_final_step_in_any_finishing_order(tmp_path):
    work, n = tmp_path / "work", 7
    _shards(work, n)
    ref = tmp_path / "ref"
    ref.mkdir()
    for split in ("train", "validation"):
        f = _SplitFile(ref / f"{split}.parquet")
        for i in range(n):
            part = shard_dir(work, "pass2", i) / f"{split}.parquet"
            if part.exists():
                f.add(part)
        f.close()
    for seed in range(3):
        out = tmp_path / f"out{seed}"
        out.mkdir()
        streamed = StreamedSplits(work, out, n)
        order = list(range(n))
        random.Random(seed).shuffle(order)
        for i in order:
            streamed.shard_done(i)
        assert streamed.finish() == {"train", "validation"}
        for split in ("train", "validation"):
            assert (out / f"{split}.parquet").read_bytes() == (
                ref / f"{split}.parquet"
            ).read_bytes()
        assert not list(out.glob("*.tmp"))
    table = pq.read_table(ref / "train.parquet")
    assert table.num_rows == sum(
        ROW_GROUP + 500 if i == 1 else 700 + 37 * i for i in range(n) if i != 3
    )
    assert table["id"][0].as_py() == "0-0"  # shard order


def test_finish_refuses_a_missing_shard(tmp_path):
    work = tmp_path / "work"
    _shards(work, 3)
    streamed = StreamedSplits(work, tmp_path, 3)
    streamed.shard_done(0)
    streamed.shard_done(2)  # waits for shard 1, which never comes
    with pytest.raises(RuntimeError, match="1 of 3"):
        streamed.finish()
