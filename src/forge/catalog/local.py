"""A ModelSpec for a model folder on disk, from its config.json and tokenizer_config.json."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from forge.catalog.spec import ModelSpec, count_params
from forge.errors import ForgeError

# config.json spells the same number differently per architecture; first match wins.
_KEYS = {
    "n_layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
    "hidden_size": ("hidden_size", "n_embd", "d_model", "dim"),
    "n_heads": ("num_attention_heads", "n_head", "num_heads", "n_heads"),
    "n_kv_heads": ("num_key_value_heads", "num_kv_heads", "n_kv_heads", "multi_query_group_num"),
    "vocab_size": ("vocab_size", "padded_vocab_size"),
    "intermediate_size": ("intermediate_size", "n_inner", "ffn_dim", "ffn_hidden_size"),
    "context_length": (
        "max_position_embeddings",
        "n_positions",
        "n_ctx",
        "max_sequence_length",
        "seq_length",
        "block_size",
    ),
    "head_dim": ("head_dim",),
    "n_experts": ("num_local_experts", "n_routed_experts", "num_experts"),
    "experts_per_token": ("num_experts_per_tok", "num_experts_per_token"),
    "moe_intermediate_size": ("moe_intermediate_size",),
}


def _first(cfg: dict[str, Any], names: Iterable[str]) -> Any:
    for n in names:
        if isinstance(cfg.get(n), (int, float)) and not isinstance(cfg.get(n), bool):
            return int(cfg[n])
    return None


def read_json_object(path: Path) -> dict[str, Any]:
    """A model folder's JSON file (config.json, tokenizer_config.json, ...) as a dict."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ForgeError(
            f"{path}: not UTF-8 text ({e.reason} at byte {e.start})", "fix or re-download the file"
        ) from None
    except OSError as e:
        raise ForgeError(f"{path}: cannot read ({e.strerror or e})", "check the file") from None
    except json.JSONDecodeError as e:
        raise ForgeError(
            f"{path}:{e.lineno}: invalid JSON: {e.msg}", "fix or re-download the file"
        ) from e
    if not isinstance(data, dict):
        raise ForgeError(f"{path}: expected a JSON object", "fix or re-download the file")
    return data


def token_text(value: Any) -> str | None:
    """tokenizer_config.json stores a token as a string or as {"content": ...}."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    return None


def special_tokens_of(tok_cfg: dict[str, Any]) -> dict[str, str]:
    out = {}
    for role in ("bos", "eos", "pad", "unk"):
        text = token_text(tok_cfg.get(f"{role}_token"))
        if text:
            out[role] = text
    return out


def spec_from_folder(folder: Path, catalog: Iterable[ModelSpec]) -> ModelSpec:
    """Describe a local model folder. A catalog model with the same architecture and shape
    lends its family and chat template; otherwise the family is config.json's `model_type`
    and the template is None (the folder's own chat_template, if any, is used by forge.chat).
    """
    folder = folder.resolve()
    cfg_path, tok_path = folder / "config.json", folder / "tokenizer_config.json"
    if not cfg_path.is_file() and not tok_path.is_file():
        raise ForgeError(
            f"{folder}: not a model folder (no config.json or tokenizer_config.json)",
            "point at the folder that holds the model's config.json",
        )
    cfg = read_json_object(cfg_path) if cfg_path.is_file() else {}
    tok = read_json_object(tok_path) if tok_path.is_file() else {}
    cfg = {**cfg, **(cfg.get("text_config") or {})}  # image-text models nest the LM's config

    shape = {k: _first(cfg, names) for k, names in _KEYS.items()}
    archs = cfg.get("architectures") or []
    architecture = str(archs[0]) if archs else str(cfg.get("model_type") or "unknown")
    heads = shape["n_heads"] or 0
    hidden = shape["hidden_size"] or 0
    inter = shape["intermediate_size"] or (4 * hidden if architecture.startswith("GPT2") else 0)
    context = shape["context_length"] or int(tok.get("model_max_length", 0) or 0)
    if context > 10_000_000:  # transformers' "no limit" sentinel (1e30)
        context = 0
    tokens = special_tokens_of(tok)
    spec = ModelSpec(
        id=str(folder),
        family=str(cfg.get("model_type") or "unknown"),
        template=None,
        context_length=context,
        params=0,
        architecture=architecture,
        special_tokens=tokens,
        n_layers=shape["n_layers"] or 0,
        hidden_size=hidden,
        n_heads=heads,
        n_kv_heads=shape["n_kv_heads"] or heads,
        vocab_size=shape["vocab_size"] or 0,
        intermediate_size=inter,
        path=str(folder),
        head_dim=shape["head_dim"],
        tied_embeddings=bool(cfg.get("tie_word_embeddings", architecture.startswith("GPT2"))),
        n_experts=shape["n_experts"] or 0,
        experts_per_token=shape["experts_per_token"] or 0,
        moe_intermediate_size=shape["moe_intermediate_size"] or inter,
        extra={"has_chat_template": bool(tok.get("chat_template"))},
    )
    if spec.n_layers and spec.hidden_size and spec.vocab_size:
        spec = replace(spec, params=count_params(spec))
    match = _same_model(spec, catalog)
    if match is not None:
        spec = replace(
            spec,
            family=match.family,
            template=match.template,
            params=match.params,
            active_params=match.active_params,
            special_tokens=tokens or dict(match.special_tokens),
            extra={**spec.extra, "catalog_id": match.id},
        )
    return spec


def _same_model(spec: ModelSpec, catalog: Iterable[ModelSpec]) -> ModelSpec | None:
    """The catalog model this folder is a copy of: same architecture and shape. When several
    share a shape (an instruct model and its base), the one whose name shares the folder's
    name wins; with no such hint the first instruct/chat entry's family is still right."""
    if not spec.n_layers:
        return None
    key = (spec.architecture, spec.n_layers, spec.hidden_size, spec.vocab_size, spec.n_kv_heads)
    same = [
        m
        for m in catalog
        if (m.architecture, m.n_layers, m.hidden_size, m.vocab_size, m.n_kv_heads) == key
    ]
    if not same:
        return None
    name = Path(spec.path or "").name.lower()
    for m in same:
        if m.id.split("/")[-1].lower() == name:
            return m
    if len({m.family for m in same}) > 1:  # e.g. Llama 3 vs 3.1 8B: the context tells them apart
        same = [m for m in same if m.context_length == spec.context_length]
    return same[0] if same and len({m.family for m in same}) == 1 else None
