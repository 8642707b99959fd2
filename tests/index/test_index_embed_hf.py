"""The transformers backend: same vectors as sentence-transformers, fewer imports, clear limits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from index_helpers import embed_in_fresh_process

from forge.config.index import IndexConfig
from forge.errors import ForgeError
from forge.index import make_embedder
from forge.index.embed import (
    SentenceTransformerEmbedder,
    TorchEmbedder,
    TransformersEmbedder,
    minilm_folder,
)
from forge.index.embed_hf import plain_layout


def _real_chunks(markdown_dir: Path, chunker, n: int) -> list[str]:
    files = sorted((markdown_dir / "rust-book").rglob("*.md"))[:12]
    files += sorted((markdown_dir / "tldr").rglob("*.md"))[:150]
    texts: list[str] = []
    for f in files:
        texts += [c.embed_text for c in chunker.chunk(f.read_text(encoding="utf-8"), f.name)[1]]
    assert len(texts) >= n
    return texts[:n]


def test_same_vectors_as_sentence_transformers(markdown_dir, chunker, embedder):
    texts = _real_chunks(markdown_dir, chunker, 300)
    hf = TransformersEmbedder(minilm_folder(), name="all-MiniLM-L6-v2", batch_size=32)
    assert hf.max_tokens == embedder.max_tokens == 256
    assert max(hf.count_tokens(texts)) > 200  # long chunks, truncation boundary exercised
    ours, theirs = hf.embed(texts), embedder.embed(texts)
    assert ours.shape == theirs.shape == (300, 384) and ours.dtype == np.float32
    assert float(np.abs(ours - theirs).max()) < 1e-5
    query = ["how do closures capture variables"]  # the one-thread query path too
    assert float(np.abs(hf.embed(query) - embedder.embed(query)).max()) < 1e-5


def test_backend_choice(tmp_path):
    default = make_embedder(IndexConfig())  # auto: a plain BERT folder runs on torch alone
    assert type(default) is TorchEmbedder and default.name == "all-MiniLM-L6-v2"
    assert type(make_embedder(IndexConfig(backend="transformers"))) is TransformersEmbedder
    st = make_embedder(IndexConfig(backend="sentence-transformers"))
    assert type(st) is SentenceTransformerEmbedder and st.name == "all-MiniLM-L6-v2"
    # A folder with a module the transformers backend does not run: auto falls back, an
    # explicit transformers backend says why it cannot.
    folder = tmp_path / "dense"
    shutil.copytree(minilm_folder(), folder)
    spec = json.loads((folder / "modules.json").read_text())
    spec.append(
        {"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"}
    )
    (folder / "modules.json").write_text(json.dumps(spec))
    assert plain_layout(folder)[0] is None
    auto = IndexConfig(embedder=str(folder), backend="auto")
    assert type(make_embedder(auto)) is SentenceTransformerEmbedder
    for backend in ("transformers", "torch"):
        with pytest.raises(ForgeError, match="Transformer \\+ Pooling"):
            make_embedder(IndexConfig(embedder=str(folder), backend=backend))


def test_unsupported_pooling_is_reported(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(minilm_folder(), folder)
    cfg = folder / "1_Pooling" / "config.json"
    pool = json.loads(cfg.read_text())
    pool.update(pooling_mode_mean_tokens=False, pooling_mode_mean_sqrt_len_tokens=True)
    cfg.write_text(json.dumps(pool))
    layout, why = plain_layout(folder)
    assert layout is None and "pooling" in why
    with pytest.raises(ForgeError, match="backend"):
        make_embedder(IndexConfig(embedder=str(folder), backend="transformers"))


def test_embedding_never_imports_sentence_transformers():
    watch = ("sentence_transformers", "pandas", "sklearn", "datasets", "peft")
    out = embed_in_fresh_process("backend='transformers'", 1, watch)
    assert out == "(1, 384) []"
