"""The model-specific half of `forge prepare`: which chat template and tokenizer to use.

Both come from forge.chat (the template: forge.yaml explicit > the model folder's own >
the catalog family; the tokenizer: `model.tokenizer`, else the model folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from forge.config.model import ModelConfig
from forge.errors import ForgeError


def tokenizer_spec(model: ModelConfig) -> str:
    spec = model.tokenizer or model.name
    if not spec:
        raise ForgeError(
            "no tokenizer: set `model.tokenizer` (a model folder or a tokenizer.json) or "
            "`model.name`",
            "e.g. `forge --set model.tokenizer=path/to/tokenizer.json prepare`",
        )
    return spec


def load_tokenizer(model: ModelConfig) -> Any:
    from forge.chat import load_tokenizer as load

    return load(tokenizer_spec(model))


def load_template(model: ModelConfig) -> Any:
    from forge.chat import resolve_template

    return resolve_template(model)


_EOT_NAMES = ("<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "<|eos|>")


def eot_id(tok: Any) -> int | None:
    """The id that ends a pretraining document: a token named end-of-text when the vocabulary
    has one (a chat tokenizer's eos is often the end of a turn, not of a text), else eos."""
    for name in _EOT_NAMES:
        i = tok.tokenizer.token_to_id(name)
        if i is not None:
            return i
    return tok.eos_id


def save_tokenizer(tok: Any, out_dir: Path) -> None:
    """Keep the tokenizer the data was tokenized with next to the data."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "tokenizer.json.tmp"
    tok.tokenizer.save(str(tmp))
    tmp.replace(out_dir / "tokenizer.json")
