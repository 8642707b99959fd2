"""load_tokenizer, and rows whose content forge cannot mark."""

from __future__ import annotations

import json

import pytest

from forge.chat import Conversation, Message, encode_conversations, get_template, load_tokenizer
from forge.errors import ForgeError

from .conftest import train_bpe


def test_load_tokenizer_from_folder_and_file(tmp_path):
    plain = tmp_path / "plain.json"
    train_bpe(["<s>", "</s>"]).save(str(plain))
    bare = load_tokenizer(plain)
    assert bare.bos_token == "<s>" and bare.eos_token == "</s>"  # guessed from its special tokens
    tok = train_bpe(["<s>", "</s>", "<|im_end|>"])
    folder = tmp_path / "m"
    folder.mkdir()
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"bos_token": {"content": "<s>"}, "eos_token": "<|im_end|>"}), encoding="utf-8"
    )
    t = load_tokenizer(folder)
    assert t.eos_token == "<|im_end|>" and t.eos_id == tok.token_to_id("<|im_end|>")
    assert t.vocab_size == tok.get_vocab_size() and len(t.hash) == 16 and not t.adds_bos
    assert load_tokenizer(folder, {"eos": "</s>"}).eos_token == "</s>"


def test_load_tokenizer_errors(tmp_path):
    with pytest.raises(ForgeError, match="no tokenizer"):
        load_tokenizer(tmp_path / "missing")
    tok = train_bpe(["<s>"])
    tok.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<eos>"}))
    with pytest.raises(ForgeError, match="not in the vocabulary"):
        load_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(ForgeError, match="cannot load tokenizer"):
        load_tokenizer(tmp_path / "tokenizer.json")


def test_content_with_marker_characters_still_gets_its_spans(family_tokenizer):
    """U+2028 (line separator) turns up in scraped text; forge then finds turns by their header."""
    t, tok = get_template("chatml"), family_tokenizer("chatml")
    conv = Conversation(
        [
            Message("user", "a\u2028b"),
            Message("assistant", "one\u2028two"),
            Message("user", "x"),
            Message("assistant", "y"),
        ]
    )
    (row,) = encode_conversations(t, tok, [conv])
    trained = [i for i, lab in zip(row.input_ids, row.labels, strict=True) if lab != -100]
    assert (
        tok.tokenizer.decode(trained, skip_special_tokens=False)
        == "one\u2028two<|im_end|>y<|im_end|>"
    )


def test_a_template_that_cuts_markers_is_rejected_not_guessed(family_tokenizer):
    tok = family_tokenizer("chatml")
    t = get_template(
        "{% for m in messages %}{{ m.role + ':' + m.content[1:] + '\\n' }}{% endfor %}"
    )
    (row,) = encode_conversations(
        t, tok, [Conversation([Message("user", "hello"), Message("assistant", "world")])]
    )
    assert row.reason == "mask_error"
