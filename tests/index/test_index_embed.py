"""Embedders: the offline default, plugins through the registry, and user errors."""

from __future__ import annotations

import numpy as np
import pytest

from forge import registry
from forge.config.index import IndexConfig
from forge.errors import ForgeError
from forge.index import Index, make_embedder
from forge.index.embed import SentenceTransformerEmbedder, minilm_folder


def test_default_is_the_offline_package(monkeypatch):
    emb = make_embedder(IndexConfig())
    assert isinstance(emb, SentenceTransformerEmbedder)
    assert emb.name == "all-MiniLM-L6-v2" and emb.max_tokens == 256
    assert emb.folder == minilm_folder() and (emb.folder / "model.safetensors").is_file()
    assert emb.count_tokens(["", "hello world"]) == [2, 4]  # [CLS] ... [SEP]
    assert make_embedder(IndexConfig(max_tokens=128)).max_tokens == 128  # lowered, never raised
    assert make_embedder(IndexConfig(max_tokens=1000)).max_tokens == 256


def test_a_local_folder_by_config(embedder):
    emb = make_embedder(IndexConfig(embedder=str(minilm_folder())))
    assert emb.name.startswith("sentence-transformers:")
    v = emb.embed(["closures capture variables", "a tar archive"])
    assert v.dtype == np.float32 and v.shape == (2, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert emb.model is make_embedder(IndexConfig(max_tokens=64)).model  # one copy per process


def test_a_plugin_embedder_through_the_registry(tmp_path, embedder, monkeypatch):
    seen: list[str] = []

    class Recording:
        name = "recording"
        max_tokens = 128

        def count_tokens(self, texts):
            return embedder.count_tokens(texts)

        def embed(self, texts):
            seen.extend(texts)
            return embedder.embed(texts)

    table = registry._REGISTRY.setdefault("embedder", {})
    monkeypatch.setitem(table, "recording", lambda cfg: Recording())  # gone after the test
    assert "recording" in registry.names("embedder")
    doc = tmp_path / "notes.md"
    doc.write_text("# Notes\n\n" + "Closures capture their environment. " * 40 + "\n")
    cfg = IndexConfig(path=str(tmp_path / "i.db"), embedder="recording")
    with Index(cfg.path, config=cfg) as idx:
        rep = idx.update([doc])
        assert rep.embedded == len(seen) >= 2  # 128 tokens forced a split
        assert all(
            len(embedder.count_tokens([t])) and embedder.count_tokens([t])[0] <= 128 for t in seen
        )
        assert idx.search("closures", k=1)[0].path == "notes.md"


def test_unknown_embedder_is_a_user_error():
    with pytest.raises(ForgeError, match="neither a registered embedder"):
        make_embedder(IndexConfig(embedder="no-such-model"))


def test_a_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(ForgeError, match="not a sentence-transformers model folder"):
        make_embedder(IndexConfig(embedder=str(tmp_path)))


def test_a_query_embeds_like_a_batch(embedder):
    """Queries take a one-thread path around encode(); the vectors must not change."""
    qs = ["how do closures capture variables", "tar", "ownership and borrowing in rust " * 8]
    one_by_one = np.concatenate([embedder.embed([q]) for q in qs])
    batched = embedder.embed(qs * 3)[:3]  # more than SMALL_BATCH: the encode() path
    assert np.allclose(one_by_one, batched, atol=1e-5)
