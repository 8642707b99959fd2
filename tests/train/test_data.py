"""Token shards and batch sampling."""

from __future__ import annotations

import numpy as np
import pytest

from forge.errors import ForgeError
from forge.train.data import Shards, TokenData, open_data, write_shards
from forge.train.tokenizer import save_tokenizer, train_char


def test_text_source_split_and_cache(stdlib_corpus, tmp_path):
    text = stdlib_corpus.read_text(encoding="utf-8")
    tok = train_char([text])
    data = open_data(stdlib_corpus, tok, 0.1, tmp_path / "cache")
    assert data.train.tokens + data.validation.tokens == len(text)
    assert abs(data.validation.tokens - round(len(text) * 0.1)) <= 1
    # the split is contiguous: validation is the tail of the text
    tail = tok.decode(np.asarray(data.validation.arrays[0]).tolist())
    assert text.endswith(tail)
    assert data.train.dtype == np.uint16
    cached = list((tmp_path / "cache").rglob("shard-00000.bin"))
    assert len(cached) == 2
    mtime = cached[0].stat().st_mtime_ns
    open_data(stdlib_corpus, tok, 0.1, tmp_path / "cache")  # second open reads the cache
    assert cached[0].stat().st_mtime_ns == mtime


def _data(tmp_path, n=5000, shards=1) -> TokenData:
    tok = train_char(["abcdefgh"])
    folder = tmp_path / "ds"
    for split in ("train", "validation"):
        write_shards(np.arange(n) % 8, folder / "tokens" / split, tok.get_vocab_size(), 8)
    save_tokenizer(tok, folder / "tokenizer" / "tokenizer.json")
    return open_data(folder, None, 0.1, tmp_path / "cache")


def test_batches_are_a_pure_function_of_step(tmp_path):
    data = _data(tmp_path)
    x1, y1 = data.batch("train", 0, 7, 4, 16)
    x2, y2 = data.batch("train", 0, 7, 4, 16)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    x3, _ = data.batch("train", 0, 8, 4, 16)
    assert not np.array_equal(x1, x3)
    # targets are the inputs shifted by one token
    assert np.array_equal(x1[:, 1:], y1[:, :-1])
    assert x1.shape == (4, 16) and y1.dtype == x1.dtype


def test_ranks_and_micro_batches_split_the_global_batch(tmp_path):
    data = _data(tmp_path)
    full, _ = data.batch("train", 3, 5, 8, 16)
    r0, _ = data.batch("train", 3, 5, 4, 16, rank=0, world=2)
    r1, _ = data.batch("train", 3, 5, 4, 16, rank=1, world=2)
    assert np.array_equal(np.concatenate([r0, r1]), full)
    parts = [
        data.batch("train", 3, 5, 2, 16, micro=m, rank=r, world=2, accum=2)[0]
        for m in range(2)
        for r in range(2)
    ]
    assert np.array_equal(np.concatenate(parts), full)


def test_multi_shard_windows_stay_inside_shards(tmp_path):
    folder = tmp_path / "multi"
    for i, n in enumerate([40, 5, 100]):
        sub = folder / f"s{i}"
        write_shards(np.full(n, i), sub, 10, 9)
    # merge the three single-shard folders into one index
    import orjson

    idx = {"dtype": "uint16", "vocab_size": 10, "eot_id": 9, "shards": []}
    for i, n in enumerate([40, 5, 100]):
        (folder / f"shard-{i}.bin").write_bytes((folder / f"s{i}" / "shard-00000.bin").read_bytes())
        idx["shards"].append({"file": f"shard-{i}.bin", "tokens": n, "documents": 1})
    (folder / "index.json").write_bytes(orjson.dumps(idx))
    shards = Shards(folder)
    w = shards.windows(np.random.default_rng(0), 200, 16)
    assert all(len(set(row.tolist())) == 1 for row in w)  # no window mixes shards
    assert set(w[:, 0].tolist()) == {0, 2}  # the 5-token shard is too short for a window


def test_prepared_data_with_another_tokenizer_is_refused(tmp_path):
    _data(tmp_path)
    with pytest.raises(ForgeError, match="another tokenizer"):
        open_data(tmp_path / "ds", train_char(["xyz"]), 0.1, tmp_path / "cache")


def test_too_little_data_is_a_user_error(tmp_path):
    data = _data(tmp_path, n=10)
    with pytest.raises(ForgeError, match="too few"):
        data.batch("train", 0, 0, 2, 64)


def test_prepared_data_without_validation_holds_out_the_tail(tmp_path):
    tok = train_char(["abcdefgh"])
    folder = tmp_path / "ds"
    train = np.arange(1000) % 8
    write_shards(train, folder / "tokens" / "train", tok.get_vocab_size(), 8)
    save_tokenizer(tok, folder / "tokenizer" / "tokenizer.json")
    data = open_data(folder, None, 0.2, tmp_path / "cache")
    assert (data.train.tokens, data.validation.tokens) == (800, 200)
    assert np.array_equal(np.asarray(data.validation.arrays[0]), train[800:])
    # no training window reaches into the held-out tokens
    w = data.train.windows(np.random.default_rng(0), 500, 16)
    assert np.asarray(data.train.arrays[0]).shape == (800,) and w.shape == (500, 17)
    assert "no validation tokens" in (data.note or "")
    with pytest.raises(ForgeError, match="val_fraction"):
        open_data(folder, None, 0.0, tmp_path / "cache")
