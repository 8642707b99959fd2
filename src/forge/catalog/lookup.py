"""Load the catalog (models.yaml, presets.yaml) and resolve a model name to a ModelSpec.

`find` accepts Hugging Face ids in any case or separator spelling (`Qwen/Qwen2.5-7B-Instruct`,
`qwen2.5 7b instruct`), quantized repacks (`TheBloke/Mistral-7B-Instruct-v0.2-GPTQ`,
`unsloth/Llama-3.2-1B-Instruct-bnb-4bit`), local model folders and forge presets. When nothing
matches, or a name matches several models, it raises a ForgeError with a ranked did-you-mean:
it never guesses.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from forge.catalog.local import spec_from_folder
from forge.catalog.spec import ModelSpec, count_params
from forge.errors import ForgeError

# Suffixes that repackers add to a model's name; stripped (repeatedly) to find the original.
_QUANT_SUFFIX = re.compile(
    r"[-_.](gptq(-int[48])?|awq|gguf|ggml|exl2|mlx|bnb-4bit|bnb-8bit|unsloth-bnb-4bit|"
    r"[348]bit|int[48]|fp8|nf4|q[2-8](_k)?(_[msl0-9])*|f16|fp16|bf16|hqq)$",
    re.IGNORECASE,
)
_URL_PREFIX = re.compile(r"^(https?://)?(www\.)?(huggingface\.co|hf\.co)/", re.IGNORECASE)


def _read_yaml(name: str) -> Any:
    text = resources.files("forge.catalog").joinpath(name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _spec(entry: dict[str, Any]) -> ModelSpec:
    shape = entry["shape"]
    spec = ModelSpec(
        id=entry["id"],
        family=entry["family"],
        template=entry.get("template"),
        context_length=int(entry["context_length"]),
        params=int(entry["params"]),
        architecture=entry["architecture"],
        special_tokens=dict(entry.get("special_tokens") or {}),
        n_layers=int(shape["layers"]),
        hidden_size=int(shape["hidden"]),
        n_heads=int(shape["heads"]),
        n_kv_heads=int(shape.get("kv_heads", shape["heads"])),
        vocab_size=int(shape["vocab"]),
        intermediate_size=int(shape["intermediate"]),
        head_dim=shape.get("head_dim"),
        tied_embeddings=bool(shape.get("tied", False)),
        n_experts=int(shape.get("experts", 0)),
        experts_per_token=int(shape.get("experts_per_token", 0)),
        moe_intermediate_size=int(shape.get("moe_intermediate", 0)),
        active_params=entry.get("active_params"),
        aliases=tuple(entry.get("aliases") or ()),
        released=str(entry["released"]) if entry.get("released") else None,
        auto=bool(entry.get("auto", True)),
        base=bool(entry.get("base", entry.get("template") is None)),
    )
    return spec


def _preset_spec(p: dict[str, Any]) -> ModelSpec:
    m = p["model"]
    # char/bpe vocabularies are trained on the data; plan with a typical size until then.
    default_vocab = {"gpt2": 50257, "bpe": 8192}.get(m.get("vocab"), 256)
    vocab = int(m.get("vocab_size") or default_vocab)
    d = int(m["n_embd"])
    spec = ModelSpec(
        id=p["name"],
        family="forge-gpt",
        template=None,
        context_length=int(m["block_size"]),
        params=0,
        architecture="ForgeGPT",
        special_tokens={},
        n_layers=int(m["n_layer"]),
        hidden_size=d,
        n_heads=int(m["n_head"]),
        n_kv_heads=int(m["n_head"]),
        vocab_size=vocab,
        intermediate_size=4 * d,
        preset=p,
        tied_embeddings=True,  # nanoGPT ties the output head to the token embedding
    )
    params = count_params(spec)
    if m.get("position") == "rope":  # rotary positions have no learned table
        params -= spec.context_length * d
    return replace(spec, params=params)


@lru_cache(maxsize=1)
def _catalog() -> tuple[ModelSpec, ...]:
    out: list[ModelSpec] = []
    for entry in _read_yaml("models.yaml")["models"]:
        base = _spec(entry)
        out.append(base)
        for v in entry.get("variants") or ():
            merged = {k: val for k, val in entry.items() if k not in ("variants", "aliases")}
            merged.update({"base": True, **v})
            out.append(_spec(merged))
    return tuple(out)


@lru_cache(maxsize=1)
def _presets() -> tuple[ModelSpec, ...]:
    return tuple(_preset_spec(p) for p in _read_yaml("presets.yaml")["presets"])


def all_models() -> list[ModelSpec]:
    """Every catalog model (instruct and base variants), in catalog order. Presets excluded."""
    return list(_catalog())


def presets() -> list[ModelSpec]:
    """The forge GPT presets (`char-tiny`, `char-small`, `gpt2-small`, ...)."""
    return list(_presets())


def preset(name: str) -> dict[str, Any]:
    """The raw preset dict (name, description, model, training) of a forge GPT preset."""
    spec = find(name)
    if spec.preset is None:
        raise ForgeError(
            f"'{name}' is not a forge preset",
            f"presets: {', '.join(p.id for p in _presets())}",
        )
    return spec.preset


def _compact(name: str) -> str:
    """`Meta-Llama-3.1-8B-Instruct` -> `llama3.18binstruct`: case, separators, `meta-` and
    `-hf` do not matter."""
    s = name.lower().strip()
    s = re.sub(r"^meta-(?=llama)", "", s)
    s = re.sub(r"-hf$", "", s)
    return re.sub(r"[\s_\-:/]+", "", s)


def _strip_quant(base: str) -> tuple[str, str | None]:
    quant = None
    base = re.sub(r"\.gguf$", "", base, flags=re.IGNORECASE)
    while True:
        m = _QUANT_SUFFIX.search(base)
        if not m:
            return base, quant
        quant = quant or m.group(1).lower()
        base = base[: m.start()]


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, ModelSpec], dict[str, list[ModelSpec]]]:
    exact: dict[str, ModelSpec] = {}
    by_base: dict[str, list[ModelSpec]] = {}
    for spec in (*_catalog(), *_presets()):
        for name in (spec.id, *spec.aliases):
            exact[name.lower()] = spec
            by_base.setdefault(_compact(name.split("/")[-1]), [])
            if spec not in by_base[_compact(name.split("/")[-1])]:
                by_base[_compact(name.split("/")[-1])].append(spec)
    return exact, by_base


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1


def find(name: str) -> ModelSpec:
    """The ModelSpec for ``name``: a catalog id in any spelling, a quantized repack of one,
    a local model folder, or a forge preset. ForgeError with a ranked did-you-mean otherwise."""
    raw = (name or "").strip()
    if not raw:
        raise ForgeError("no model name given", "pass a Hugging Face id, a folder or a preset")
    folder = Path(raw).expanduser()
    if folder.is_dir():
        return spec_from_folder(folder, _catalog())
    if _URL_PREFIX.match(raw) is None and _looks_like_path(raw):
        raise ForgeError(
            f"model folder '{raw}' does not exist",
            "check the path, or give a catalog name such as Qwen/Qwen2.5-0.5B-Instruct",
        )
    key = _URL_PREFIX.sub("", raw).strip("/")
    exact, by_base = _index()
    if key.lower() in exact:
        return exact[key.lower()]

    org, _, base = key.rpartition("/")
    base, quant = _strip_quant(base)
    hits = by_base.get(_compact(base), [])
    if org and len(hits) > 1:
        same_org = [s for s in hits if s.id.lower().startswith(org.lower() + "/")]
        hits = same_org or hits
    if len(hits) == 1:
        spec = hits[0]
        if quant or spec.id.lower() != key.lower():
            spec = replace(spec, quantization=quant, requested=raw)
        return spec
    if len(hits) > 1:
        raise ForgeError(
            f"model '{raw}' matches several catalog models: {', '.join(s.id for s in hits)}",
            "give the full Hugging Face id",
        )
    raise ForgeError(f"unknown model '{raw}'", _did_you_mean(raw))


def suggestions(name: str, n: int = 5) -> list[str]:
    """Catalog ids and presets closest to ``name``, best first."""
    base, _ = _strip_quant(_URL_PREFIX.sub("", name).strip("/").rpartition("/")[2])
    q = _compact(base)
    scored = []
    for spec in (*_catalog(), *_presets()):
        cand = _compact(spec.id.split("/")[-1])
        score = difflib.SequenceMatcher(None, q, cand).ratio()
        if q and q in cand:
            score += 0.5  # `llama3.18b` should rank Llama-3.1-8B first, before look-alikes
        elif cand and cand in q:
            score += 0.2
        scored.append((-score, spec.id))
    scored.sort()
    return [sid for neg, sid in scored[:n] if -neg >= 0.45]


def _did_you_mean(name: str) -> str:
    close = suggestions(name)
    tail = (
        "; or pass a local model folder (with config.json), "
        "or a preset (char-tiny, char-small, gpt2-small)"
    )
    if close:
        return "did you mean: " + ", ".join(close) + tail
    return "`forge models list` shows the catalog" + tail
