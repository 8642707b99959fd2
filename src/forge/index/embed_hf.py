"""A sentence-transformers model folder run with transformers + torch alone.

Importing sentence-transformers also imports pandas, scipy, scikit-learn, datasets and peft:
about 510 MB of resident memory before the first text, against about 250 MB for torch and
transformers. Most embedding folders are a plain stack (a Hugging Face encoder, a pooling
step, an optional L2 normalization), which this module reads from ``modules.json`` and runs
directly, giving the same vectors. Any other layout is reported by ``plain_layout`` so the
caller can fall back to sentence-transformers.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forge.errors import ForgeError

ST_MODULES = "sentence_transformers.models."
POOLING_MODES = ("mean", "cls", "max")
_FLAGS = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}
_FLAGS["pooling_mode_max_tokens"] = "max"

# Loaded (model, tokenizer) by folder, shared by every embedder in the process.
_LOADED: dict[str, tuple[Any, Any]] = {}


@dataclass(frozen=True)
class Layout:
    """What a supported folder holds: where the encoder is, how it pools, whether it normalizes."""

    encoder: Path
    pooling: str
    normalize: bool
    max_seq_length: int | None
    lower_case: bool


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ForgeError(f"{path}: cannot read JSON ({e})", "check the model folder") from e
    return data


def _pooling_mode(cfg: dict[str, Any]) -> str | None:
    mode = cfg.get("pooling_mode")  # newer folders name the mode
    if isinstance(mode, str):
        return mode if mode in POOLING_MODES else None
    chosen = [m for flag, m in _FLAGS.items() if cfg.get(flag)]
    others = [k for k, v in cfg.items() if k.startswith("pooling_mode_") and v and k not in _FLAGS]
    return chosen[0] if len(chosen) == 1 and not others else None


def plain_layout(folder: Path) -> tuple[Layout | None, str]:
    """The folder's layout when it is Transformer + Pooling(mean|cls|max) [+ Normalize], else
    None and the reason it is not."""
    spec = folder / "modules.json"
    if not spec.is_file():
        return None, f"{folder} has no modules.json"
    modules = sorted(_read_json(spec), key=lambda m: m.get("idx", 0))  # type: ignore[arg-type]
    types = [str(m.get("type", "")).removeprefix(ST_MODULES) for m in modules]
    if types not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return None, f"{spec}: modules {types} are not Transformer + Pooling [+ Normalize]"
    encoder = folder / modules[0].get("path", "")
    pool_cfg = folder / modules[1].get("path", "") / "config.json"
    if not pool_cfg.is_file() or not (encoder / "config.json").is_file():
        return None, f"{folder}: the Transformer or Pooling module has no config.json"
    pooling = _pooling_mode(_read_json(pool_cfg))
    if pooling is None:
        return None, f"{pool_cfg}: only one of the pooling modes {POOLING_MODES} is supported"
    st_cfg = {}
    for p in (encoder / "sentence_bert_config.json", folder / "sentence_bert_config.json"):
        if p.is_file():
            st_cfg = _read_json(p)
            break
    max_len = st_cfg.get("max_seq_length")
    return Layout(
        encoder=encoder,
        pooling=pooling,
        normalize=len(types) == 3,
        max_seq_length=max_len if isinstance(max_len, int) and max_len > 0 else None,
        lower_case=bool(st_cfg.get("do_lower_case", False)),
    ), ""


def load(layout: Layout, threads: int) -> tuple[Any, Any]:
    """The encoder and its tokenizer, loaded once per process, offline."""
    key = str(layout.encoder.resolve())
    if key not in _LOADED:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        torch.set_num_threads(threads)
        model = AutoModel.from_pretrained(str(layout.encoder))
        model.eval()
        _LOADED[key] = (model, AutoTokenizer.from_pretrained(str(layout.encoder)))
    return _LOADED[key]


def encode(
    model: Any, tokenizer: Any, layout: Layout, texts: list[str], max_tokens: int, batch: int
) -> np.ndarray:
    """Vectors for ``texts`` in order; batches are formed longest first (less padding)."""
    import torch

    if layout.lower_case:
        texts = [t.lower() for t in texts]
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = np.empty((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            feats = tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation="longest_first",
                max_length=max_tokens,
                return_tensors="pt",
            )
            tokens = model(**feats, return_dict=True)[0]
            mask = feats["attention_mask"]
            if layout.pooling == "mean":
                m = mask.unsqueeze(-1).to(tokens.dtype)
                vec = (tokens * m).sum(dim=1) / torch.clamp(m.sum(dim=1), min=1e-9)
            elif layout.pooling == "cls":
                vec = tokens[:, 0]
            else:
                m = mask.unsqueeze(-1).expand_as(tokens)
                vec = tokens.masked_fill(m == 0, float("-inf")).max(dim=1).values
            vec = vec.float()
            if layout.normalize:
                vec = torch.nn.functional.normalize(vec, p=2, dim=1)
            out[idx] = vec.numpy()
    return out
