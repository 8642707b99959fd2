"""Tokenizers for training from scratch, all saved as Hugging Face ``tokenizer.json`` files.

Torch-free, so that `forge prepare` (forge.data) and `forge train` (forge.train) share it
without importing each other.

- character level: a WordLevel model over the corpus's characters, a pre-tokenizer that
  isolates every character, and a Fuse decoder, so ``decode(encode(x)) == x`` for any text
  made of known characters (newlines included);
- byte-level BPE trained on the corpus (``forge tokenizer train``);
- the tokenizer of a local model folder, or any ``tokenizer.json``.

Every tokenizer has an end-of-text token (documents are separated by it in token shards) and
a hash of its canonical JSON, which travels with each checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import xxhash
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

from forge.errors import ForgeError

EOT = "<|endoftext|>"
UNK = "<|unk|>"
# Names users may give instead of a path.
BUILTIN_KINDS = ("char", "bpe")


def tokenizer_hash(tok: Tokenizer) -> str:
    """A stable hash of the tokenizer's full definition (vocab, merges, pre/post-processing)."""
    return xxhash.xxh64(tok.to_str().encode("utf-8")).hexdigest()


def eot_id(tok: Tokenizer) -> int:
    """The id of the end-of-text token (``<|endoftext|>``, ``</s>``, ``<eos>`` ...)."""
    for name in (EOT, "</s>", "<eos>", "<|end_of_text|>", "<|im_end|>"):
        i = tok.token_to_id(name)
        if i is not None:
            return i
    raise ForgeError(
        "the tokenizer has no end-of-text token",
        f"add one (e.g. {EOT}) as a special token to the tokenizer",
    )


def train_char(texts: Iterable[str]) -> Tokenizer:
    """A character-level tokenizer over every character that occurs in ``texts``."""
    chars: set[str] = set()
    for t in texts:
        chars.update(t)
    vocab = {c: i for i, c in enumerate(sorted(chars))}
    vocab[EOT] = len(vocab)
    vocab[UNK] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    # [\s\S] matches any character, newline included: each character is its own "word".
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens([EOT, UNK])
    return tok


def train_bpe(files: list[str], vocab_size: int = 4096, min_frequency: int = 2) -> Tokenizer:
    """Byte-level BPE (GPT-2 style): any text round-trips, no unknown tokens."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train(files, _bpe_trainer(vocab_size, min_frequency))
    return tok


def train_bpe_texts(
    texts: Iterable[str], vocab_size: int = 4096, min_frequency: int = 2
) -> Tokenizer:
    """:func:`train_bpe` over texts in memory (an iterator, consumed once)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, _bpe_trainer(vocab_size, min_frequency))
    return tok


def _bpe_trainer(vocab_size: int, min_frequency: int) -> trainers.BpeTrainer:
    return trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )


def train_tokenizer(kind: str, files: list[str], vocab_size: int = 4096) -> Tokenizer:
    """Train a ``char`` or ``bpe`` tokenizer on text files."""
    for f in files:
        if not Path(f).is_file():
            raise ForgeError(f"{f}: no such file", "pass text files to train the tokenizer on")
    if kind == "char":
        return train_char(Path(f).read_text(encoding="utf-8") for f in files)
    if kind == "bpe":
        return train_bpe(files, vocab_size)
    raise ForgeError(f"unknown tokenizer kind '{kind}'", "use char or bpe")


def load_tokenizer(spec: str | Path) -> Tokenizer:
    """A tokenizer.json file, or a folder holding one (a model folder or a run)."""
    p = Path(spec)
    if p.is_dir():
        for cand in (p / "tokenizer.json", p / "tokenizer" / "tokenizer.json"):
            if cand.is_file():
                p = cand
                break
        else:
            raise ForgeError(
                f"{spec}: no tokenizer.json in this folder",
                "point to a folder with tokenizer.json, or train one with `forge tokenizer train`",
            )
    if not p.is_file():
        raise ForgeError(
            f"{spec}: no such tokenizer file",
            "use `char`, `bpe`, a tokenizer.json, or a local model folder",
        )
    try:
        return Tokenizer.from_file(str(p))
    except Exception as e:  # the tokenizers library raises a bare Exception on bad JSON
        raise ForgeError(f"{p}: not a valid tokenizer.json ({e})", "re-create the file") from e


def save_tokenizer(tok: Tokenizer, path: str | Path) -> Path:
    """Write ``tokenizer.json`` atomically; returns its path."""
    p = Path(path)
    if p.suffix != ".json":
        p = p / "tokenizer.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tok.save(str(tmp))
    tmp.replace(p)
    return p


def is_char_level(tok: Tokenizer) -> bool:
    return isinstance(tok.decoder, decoders.Fuse) and tok.model.__class__.__name__ == "WordLevel"


def encode_text(tok: Tokenizer, text: str, chunk_chars: int = 1 << 16) -> list[int]:
    """Encode a long text in line-aligned chunks (the Rust encoder runs them in parallel)."""
    chunks, start = [], 0
    while start < len(text):
        end = min(len(text), start + chunk_chars)
        if end < len(text):
            nl = text.rfind("\n", start, end)
            end = nl + 1 if nl > start else end
        chunks.append(text[start:end])
        start = end
    out: list[int] = []
    for enc in tok.encode_batch(chunks, add_special_tokens=False):
        out.extend(enc.ids)
    return out
