"""The torch backend (the default for all-MiniLM-L6-v2) and batches bounded by padded tokens."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from index_helpers import embed_in_fresh_process

from forge.config.index import IndexConfig
from forge.errors import ForgeError
from forge.heap import give_back
from forge.index import make_embedder
from forge.index.batching import token_batches
from forge.index.embed import TorchEmbedder, TransformersEmbedder, minilm_folder


def _real_texts(markdown_dir: Path, chunker) -> list[str]:
    files = sorted((markdown_dir / "rust-book").rglob("*.md"))[:4]
    files += sorted((markdown_dir / "tldr").rglob("*.md"))[:40]
    texts: list[str] = []
    for f in files:
        texts += [c.embed_text for c in chunker.chunk(f.read_text(encoding="utf-8"), f.name)[1]]
    return texts


def test_same_vectors_as_sentence_transformers(markdown_dir, chunker, embedder):
    """Short and long real chunks, a text past the model's limit (cut like the tokenizer
    cuts), and a query: the torch forward pass matches sentence-transformers."""
    texts = _real_texts(markdown_dir, chunker)[::3][:60] + ["closures " * 400, "x"]
    ours = make_embedder(IndexConfig())
    assert type(ours) is TorchEmbedder and ours.max_tokens == 256
    lengths = ours.count_tokens(texts)
    assert max(lengths) > 256 and min(lengths) < 10
    got, want = ours.embed(texts), embedder.embed(texts)
    assert got.shape == want.shape == (len(texts), 384) and got.dtype == np.float32
    assert float(np.abs(got - want).max()) < 1e-5
    query = ["how do closures capture variables"]  # the one-thread path
    assert float(np.abs(ours.embed(query) - embedder.embed(query)).max()) < 1e-5


def test_token_budget_batches_match_one_by_one(markdown_dir, chunker):
    """A small budget splits the texts into many uneven batches, longest first; the vectors
    come back in the caller's order and equal embedding each text alone."""
    texts = _real_texts(markdown_dir, chunker)
    texts = texts[::5][:10] + texts[-8:]  # long rust book chunks, shorter tldr ones
    small = make_embedder(IndexConfig(batch_tokens=600, batch_size=6))
    lengths = small.count_tokens(texts)
    batches = token_batches(lengths, 600, 6)
    assert len({len(b) for b in batches}) > 2  # long texts alone, short ones up to 6
    together = small.embed(texts)
    alone = np.concatenate([small.embed([t]) for t in texts])
    assert float(np.abs(together - alone).max()) < 1e-5
    shuffled = list(reversed(texts))
    assert float(np.abs(small.embed(shuffled)[::-1] - together).max()) < 1e-5


@given(
    st.lists(st.integers(min_value=1, max_value=300), max_size=80),
    st.integers(min_value=1, max_value=3000),
    st.integers(min_value=1, max_value=40),
)
def test_token_batches_invariants(lengths, budget, max_texts):
    batches = token_batches(lengths, budget, max_texts)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))  # every text exactly once
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)  # longest first
    for b in batches:
        assert 1 <= len(b) <= max_texts
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= budget
    for a, b in zip(batches, batches[1:], strict=False):
        # A batch is closed only when the next text would not fit (greedy, no waste).
        full = len(a) == max_texts or (len(a) + 1) * lengths[a[0]] > budget
        assert full, (a, b)
    give_back()  # a no-op where the C library has no malloc_trim; never raises


def test_the_default_backend_imports_neither_transformers_models_nor_sentence_transformers():
    watch = ("sentence_transformers", "transformers.modeling_utils", "sklearn")
    assert embed_in_fresh_process("", 6, watch) == "(6, 384) []"


def test_weights_that_are_not_a_bert_are_reported(tmp_path):
    import torch
    from safetensors.torch import save_file

    folder = tmp_path / "m"
    shutil.copytree(minilm_folder(), folder, ignore=shutil.ignore_patterns("model.safetensors"))
    save_file({"decoder.weight": torch.zeros(2, 2)}, str(folder / "model.safetensors"))
    emb = make_embedder(IndexConfig(embedder=str(folder), backend="torch"))
    with pytest.raises(ForgeError, match="not the weights of a BERT encoder"):
        emb.embed(["a tar archive"])
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, "model_type": "roberta"}))
    with pytest.raises(ForgeError, match="torch cannot run this model"):
        make_embedder(IndexConfig(embedder=str(folder), backend="torch"))
    assert type(make_embedder(IndexConfig(embedder=str(folder)))) is TransformersEmbedder
