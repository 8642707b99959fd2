from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forge.data.pack import fill_rate, pack_rows, pack_stats, pack_table
from forge.errors import ForgeError


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 64), min_size=0, max_size=120),
    max_length=st.integers(64, 200),
)
def test_pack_keeps_every_token_exactly_once(lengths, max_length):
    rows = [[1000 * i + j for j in range(n)] for i, n in enumerate(lengths)]
    labels = [[-100 if j == 0 else t for j, t in enumerate(r)] for r in rows]
    table = pa.table(
        {
            "input_ids": pa.array(rows, pa.list_(pa.int32())),
            "labels": pa.array(labels, pa.list_(pa.int32())),
            "id": [f"row{i}" for i in range(len(rows))],
        }
    )
    packed = pack_table(table, max_length)
    seqs = packed.column("input_ids").to_pylist()
    assert all(len(s) <= max_length for s in seqs)
    # every token exactly once
    flat = sorted(t for s in seqs for t in s)
    assert flat == sorted(t for r in rows for t in r)
    # documents stay whole and in place: ids, lengths and positions agree
    for seq, pos, lens, ids, lab in zip(
        seqs,
        packed.column("position_ids").to_pylist(),
        packed.column("seq_lengths").to_pylist(),
        packed.column("ids").to_pylist(),
        packed.column("labels").to_pylist(),
        strict=True,
    ):
        assert sum(lens) == len(seq) == len(pos) == len(lab)
        k = 0
        for n, rid in zip(lens, ids, strict=True):
            i = int(rid[3:])
            assert seq[k : k + n] == rows[i]
            assert pos[k : k + n] == list(range(n))
            if n:
                assert lab[k] == -100 and lab[k + 1 : k + n] == labels[i][1:]
            k += n
    assert sorted(i for s in packed.column("ids").to_pylist() for i in s) == sorted(
        table.column("id").to_pylist()
    )


@settings(max_examples=60, deadline=None)
@given(lengths=st.lists(st.integers(1, 100), min_size=1, max_size=300))
def test_best_fit_decreasing_is_valid_and_tight(lengths):
    bins = pack_rows(lengths, 100)
    assert sorted(i for b in bins for i in b) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in b) <= 100 for b in bins)
    # Any-fit property: a bin was opened only because its first row fit no earlier bin, and
    # bins only grow, so no two bins could be merged into one.
    loads = sorted(sum(lengths[i] for i in b) for b in bins)
    if len(loads) > 1:
        assert loads[0] + loads[1] > 100
    assert pack_rows(lengths, 100) == bins  # deterministic


def test_pack_rejects_too_long_rows():
    with pytest.raises(ForgeError, match="row 1 has 9 tokens"):
        pack_rows([3, 9, 2], 8)


def test_alpaca_fill_at_2048_with_a_trained_bpe(shared_data):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    rows = json.loads((shared_data / "chat/alpaca_5000.json").read_text())
    texts = [
        f"### Instruction:\n{r['instruction']}\n\n"
        + (f"### Input:\n{r['input']}\n\n" if r["input"] else "")
        + f"### Response:\n{r['output']}"
        for r in rows
    ]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=4000, show_progress=False))
    ids = [e.ids for e in tok.encode_batch(texts)]
    table = pa.table({"input_ids": pa.array(ids, pa.list_(pa.int32()))})
    packed = pack_table(table, 2048)
    stats = pack_stats(packed)
    assert stats["tokens"] == sum(map(len, ids)) and stats["documents"] == 5000
    assert stats["fill_rate"] >= 0.98
    lengths = [len(x) for x in ids]
    assert fill_rate(lengths, pack_rows(lengths, 2048), 2048) == pytest.approx(
        stats["fill_rate"], abs=1e-6
    )
    assert np.isclose(
        float(packed.schema.metadata[b"forge.fill_rate"]), stats["fill_rate"], atol=1e-5
    )
