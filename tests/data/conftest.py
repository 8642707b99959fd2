"""Fixtures for the prepare tests: a tiny byte-level BPE tokenizer trained here, a model folder
with a chatml-style chat template, and a config builder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from forge.config import ForgeConfig

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_CORPUS = [
    "The quick brown fox jumps over the lazy dog. " * 3,
    "user assistant system tool: who are you? I am a language model.",
    "def add(a, b):\n    return a + b\n",
    "Bonjour, ça va? Très bien, merci. Ünïcödé text — “quotes” and ‘apostrophes’.",
]


@pytest.fixture(scope="session")
def tokenizer_json(tmp_path_factory) -> Path:
    """A byte-level BPE (vocab 400) trained on a small corpus, with <|endoftext|>."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 20, trainer)
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return path


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, tokenizer_json) -> Path:
    """A local model folder: tokenizer.json + tokenizer_config.json with a chat template."""
    import json
    import shutil

    d = tmp_path_factory.mktemp("model")
    shutil.copy(tokenizer_json, d / "tokenizer.json")
    (d / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "chat_template": CHATML,
                "eos_token": "<|im_end|>",
                "bos_token": None,
                "pad_token": "<|endoftext|>",
                "tokenizer_class": "PreTrainedTokenizerFast",
            }
        )
    )
    (d / "config.json").write_text(json.dumps({"model_type": "gpt2", "vocab_size": 400}))
    return d


def make_cfg(out: Path, sources: list[dict[str, Any]], model: dict[str, Any], **pre: Any):
    pre.setdefault("workers", 1)
    return ForgeConfig.model_validate(
        {
            "model": model,
            "data": {"name": "ds", "output_dir": str(out), "sources": sources},
            "preprocessing": pre,
        }
    )
