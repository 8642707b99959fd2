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


TRAINED_KINDS = ("char", "bpe")
TRAIN_SAMPLE_CHARS = 32 << 20
"""A `char`/`bpe` tokenizer is trained on the first this many characters of the sources' text
(files in order, records in order): bounded time and memory on any corpus."""


def _strings(obj: Any) -> Any:
    """Every string value in a record (JSON keys are structure, not text)."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def _sample_texts(files: list[str], limit: int) -> Any:
    from forge.data.read import RawError, iter_records

    left = limit
    for f in files:
        for _, _, obj in iter_records(f):
            if isinstance(obj, RawError):
                continue  # pass 1 rejects it with its reason; it has no text to learn from
            for s in _strings(obj):
                yield s[:left]
                left -= min(len(s), left)
                if left <= 0:
                    return


def train_for_data(
    model: ModelConfig, files: list[str], cache: Path, vocab_size: int
) -> ModelConfig:
    """`model.tokenizer: char | bpe` (what `forge plan` writes for forge GPT presets): train it
    on the sources' text, deterministically, and return ``model`` pointing at the trained
    tokenizer.json (cached under ``cache`` by input contents, kind and vocabulary size, so an
    unchanged rerun reuses it). Any other ``model`` is returned as is."""
    kind = model.tokenizer
    if kind not in TRAINED_KINDS:
        return model
    import xxhash

    from forge.tokenizer_build import save_tokenizer, train_bpe_texts, train_char

    h = xxhash.xxh64(f"{kind}:{vocab_size}:{TRAIN_SAMPLE_CHARS}".encode())
    for f in files:
        h.update(f.encode() + b"\0")
        with open(f, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    path = cache / f"{kind}-{h.hexdigest()}.json"
    if not path.is_file():
        texts = _sample_texts(files, TRAIN_SAMPLE_CHARS)
        tok = train_char(texts) if kind == "char" else train_bpe_texts(texts, vocab_size)
        if cache.is_dir():
            for old in cache.glob(f"{kind}-*.json"):
                old.unlink()  # one per kind: an older corpus's tokenizer is of no further use
        save_tokenizer(tok, path)
    return model.model_copy(update={"tokenizer": str(path)})
