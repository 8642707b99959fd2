"""Temporary stand-in for forge.chat.load_tokenizer (a tokenizer.json only)."""

from __future__ import annotations

from pathlib import Path

import xxhash


class _Tok:
    def __init__(self, path: Path):
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(path))
        self.hash = xxhash.xxh64(path.read_bytes()).hexdigest()
        self.vocab_size = self.tokenizer.get_vocab_size()
        self.eos_token = next(
            (
                t
                for t in ("<|endoftext|>", "</s>", "<eos>")
                if self.tokenizer.token_to_id(t) is not None
            ),
            None,
        )
        self.eos_id = self.tokenizer.token_to_id(self.eos_token) if self.eos_token else None
        self.bos_token = None


def load_tokenizer(spec: str) -> _Tok:
    p = Path(spec)
    return _Tok(p / "tokenizer.json" if p.is_dir() else p)
