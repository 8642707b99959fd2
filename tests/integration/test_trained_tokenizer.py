"""`model.tokenizer: char | bpe` trained by `forge prepare` on the sources' text (torch-free)."""

from __future__ import annotations

import json
from pathlib import Path

from forge.config.model import ModelConfig
from forge.data.model_side import train_for_data
from forge.tokenizer_build import load_tokenizer


def _chat_file(path):
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"café n°{i}"},
                {"role": "assistant", "content": "ok ✓"},
            ]
        }
        for i in range(50)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken\n", encoding="utf-8")


def test_char_learns_the_records_text_not_their_json(tmp_path):
    src = tmp_path / "chat.jsonl"
    _chat_file(src)
    m = train_for_data(ModelConfig(tokenizer="char"), [str(src)], tmp_path / "c", 4096)
    vocab = load_tokenizer(m.tokenizer).get_vocab()
    assert {"é", "°", "✓"} <= set(vocab)  # decoded strings, not \\u escapes
    assert "{" not in vocab and '"' not in vocab  # JSON syntax is not text
    assert set("userassistant") <= set(vocab)  # role values are strings of the record


def test_bpe_is_deterministic_and_cached(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text("".join(f"line {i} of some text to merge\n" for i in range(300)), "utf-8")
    a = train_for_data(ModelConfig(tokenizer="bpe"), [str(src)], tmp_path / "a", 300)
    b = train_for_data(ModelConfig(tokenizer="bpe"), [str(src)], tmp_path / "b", 300)
    assert Path(a.tokenizer).read_bytes() == Path(b.tokenizer).read_bytes()
    assert load_tokenizer(a.tokenizer).get_vocab_size() <= 300
    # changed input: a new tokenizer replaces the old one in the cache
    src.write_text("other words entirely\n" * 100, "utf-8")
    c = train_for_data(ModelConfig(tokenizer="bpe"), [str(src)], tmp_path / "a", 300)
    assert c.tokenizer != a.tokenizer
    assert [p.name for p in (tmp_path / "a").iterdir()] == [c.tokenizer.rsplit("/", 1)[1]]


def test_other_tokenizers_pass_through(tmp_path):
    m = ModelConfig(tokenizer="models/x")
    assert train_for_data(m, [], tmp_path, 4096) is m
