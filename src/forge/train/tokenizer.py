"""The tokenizers `forge train` uses; they live in :mod:`forge.tokenizer_build` (torch-free,
shared with `forge prepare`)."""

from forge.tokenizer_build import (
    BUILTIN_KINDS,
    EOT,
    UNK,
    encode_text,
    eot_id,
    is_char_level,
    load_tokenizer,
    save_tokenizer,
    tokenizer_hash,
    train_bpe,
    train_bpe_texts,
    train_char,
    train_tokenizer,
)

__all__ = [
    "BUILTIN_KINDS",
    "EOT",
    "UNK",
    "encode_text",
    "eot_id",
    "is_char_level",
    "load_tokenizer",
    "save_tokenizer",
    "tokenizer_hash",
    "train_bpe",
    "train_bpe_texts",
    "train_char",
    "train_tokenizer",
]
