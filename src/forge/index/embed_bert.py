"""A BERT encoder run with torch functions alone, for the ``torch`` backend.

Importing ``transformers.modeling_utils`` (what loading any transformers model needs) costs
about 125 MB of resident memory before a weight is read (it pulls in torch._dynamo,
torch.distributed.tensor and the generation code), and its tokenizer classes about 25 MB
more. A sentence-transformers folder holding a plain BERT (all-MiniLM-L6-v2 and most small
embedding models) needs none of that: this module reads the weights from ``model.safetensors``
and runs the encoder's forward pass (embeddings, self-attention, feed-forward, layer norms) with
``torch.nn.functional``, tokenizing with the folder's ``tokenizer.json``. The vectors equal the
other backends' (the tests hold them to 1e-5). Anything else is reported by ``bert_reason`` so
the caller falls back to the transformers backend.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forge.errors import ForgeError
from forge.index.embed_hf import Layout

_LOADED: dict[str, BertEncoder] = {}


@dataclass(frozen=True)
class BertConfig:
    layers: int
    heads: int
    eps: float
    pad_id: int


def bert_reason(layout: Layout) -> str:
    """Why ``layout``'s encoder cannot run here ("" when it can)."""
    enc = layout.encoder
    if not (enc / "model.safetensors").is_file() or not (enc / "tokenizer.json").is_file():
        return f"{enc} lacks model.safetensors or tokenizer.json"
    cfg = json.loads((enc / "config.json").read_text(encoding="utf-8"))
    if cfg.get("model_type") != "bert":
        return f"{enc / 'config.json'}: model_type {cfg.get('model_type')!r} is not bert"
    if cfg.get("position_embedding_type", "absolute") != "absolute" or cfg.get(
        "hidden_act"
    ) not in ("gelu", None):
        return f"{enc / 'config.json'}: only absolute positions and gelu are supported"
    return ""


def _config(encoder: Path) -> BertConfig:
    cfg = json.loads((encoder / "config.json").read_text(encoding="utf-8"))
    return BertConfig(
        layers=int(cfg["num_hidden_layers"]),
        heads=int(cfg["num_attention_heads"]),
        eps=float(cfg.get("layer_norm_eps", 1e-12)),
        pad_id=int(cfg.get("pad_token_id") or 0),
    )


def load(encoder: Path) -> BertEncoder:
    """One encoder per folder and process, shared by every embedder (like the other backends)."""
    key = str(encoder.resolve())
    if key not in _LOADED:
        _LOADED[key] = BertEncoder(encoder)
    return _LOADED[key]


class BertEncoder:
    """Weights as plain tensors (the pooler, unused for embeddings, is not loaded)."""

    def __init__(self, encoder: Path):
        from safetensors import safe_open
        from tokenizers import Tokenizer

        self.cfg = _config(encoder)
        self.w: dict[str, Any] = {}
        with safe_open(str(encoder / "model.safetensors"), framework="pt") as f:
            keys = [k for k in f.keys() if not k.endswith("position_ids")]  # noqa: SIM118
            # A BertModel saves "embeddings.*"; a model with heads saves "bert.embeddings.*".
            prefix = "bert." if any(k.startswith("bert.embeddings.") for k in keys) else ""
            for k in keys:
                name = k.removeprefix(prefix)
                if name.startswith(("embeddings.", "encoder.")):
                    self.w[name] = f.get_tensor(k).float()
        wanted = ["embeddings.word_embeddings.weight"]
        wanted += [f"encoder.layer.{i}.output.dense.weight" for i in range(self.cfg.layers)]
        if any(name not in self.w for name in wanted):
            raise ForgeError(
                f"{encoder / 'model.safetensors'}: not the weights of a BERT encoder",
                "set index.backend to transformers or sentence-transformers for this folder",
            )
        tok = Tokenizer.from_file(str(encoder / "tokenizer.json"))
        tok.no_padding()  # batches are padded here, to their own longest sequence
        tok.no_truncation()
        self.tokenizer = tok

    def tokenize(self, texts: list[str], max_tokens: int) -> list[list[int]]:
        """Token ids per text, special tokens included, cut to ``max_tokens`` the way the
        tokenizer's own truncation does for one BERT sequence: content cut, final [SEP] kept
        (the limit is an argument, not tokenizer state: one encoder serves every limit)."""
        ids = [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=True)]
        return [s if len(s) <= max_tokens else s[: max_tokens - 1] + s[-1:] for s in ids]

    def __call__(self, seqs: list[list[int]], pooling: str, normalize: bool) -> np.ndarray:
        """Vectors for one batch of token ids, in order (call inside ``torch.inference_mode``)."""
        import torch
        import torch.nn.functional as F

        n, length = len(seqs), max(len(s) for s in seqs)
        ids = torch.full((n, length), self.cfg.pad_id, dtype=torch.long)
        mask = torch.zeros((n, length), dtype=torch.bool)
        for row, s in enumerate(seqs):
            ids[row, : len(s)] = torch.tensor(s, dtype=torch.long)
            mask[row, : len(s)] = True
        w, cfg = self.w, self.cfg
        x = (
            F.embedding(ids, w["embeddings.word_embeddings.weight"])
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )

        def norm(name: str, h: Any) -> Any:
            return F.layer_norm(h, h.shape[-1:], w[name + ".weight"], w[name + ".bias"], cfg.eps)

        x = norm("embeddings.LayerNorm", x)
        attn_mask = mask[:, None, None, :]  # True: attend; padding keys are masked out
        heads, dim = cfg.heads, x.shape[-1]
        for i in range(cfg.layers):
            p = f"encoder.layer.{i}."

            def lin(name: str, h: Any, p: str = p) -> Any:
                return F.linear(h, w[p + name + ".weight"], w[p + name + ".bias"])

            def split(h: Any) -> Any:
                return h.view(n, length, heads, dim // heads).transpose(1, 2)

            q = split(lin("attention.self.query", x))
            k = split(lin("attention.self.key", x))
            v = split(lin("attention.self.value", x))
            ctx = F.scaled_dot_product_attention(
                q, k, v, attn_mask=attn_mask, scale=1 / math.sqrt(dim // heads)
            )
            ctx = ctx.transpose(1, 2).reshape(n, length, dim)
            x = norm(p + "attention.output.LayerNorm", lin("attention.output.dense", ctx) + x)
            h = F.gelu(lin("intermediate.dense", x))
            x = norm(p + "output.LayerNorm", lin("output.dense", h) + x)
        m = mask.unsqueeze(-1).to(x.dtype)
        if pooling == "mean":
            vec = (x * m).sum(dim=1) / torch.clamp(m.sum(dim=1), min=1e-9)
        elif pooling == "cls":
            vec = x[:, 0]
        else:
            vec = x.masked_fill(m == 0, float("-inf")).max(dim=1).values
        if normalize:
            vec = F.normalize(vec, p=2, dim=1)
        return vec.numpy()
