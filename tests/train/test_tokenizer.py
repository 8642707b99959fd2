"""Tokenizers: round trips over whole corpora, tokenizer.json files, hashes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from forge.train.tokenizer import (
    EOT,
    encode_text,
    eot_id,
    is_char_level,
    save_tokenizer,
    tokenizer_hash,
    train_bpe,
    train_char,
)


def test_char_round_trip_whole_shakespeare(shared_data, tmp_path):
    text = (shared_data / "text" / "tinyshakespeare.txt").read_text(encoding="utf-8")
    tok = train_char([text])
    # saved and loaded the way `forge prepare` loads it
    path = save_tokenizer(tok, tmp_path)
    loaded = Tokenizer.from_file(str(path))
    ids = encode_text(loaded, text)
    assert len(ids) == len(text)  # one token per character, newlines included
    assert loaded.decode(ids) == text
    assert tok.get_vocab_size() == len(set(text)) + 2
    assert tokenizer_hash(loaded) == tokenizer_hash(tok)
    assert is_char_level(loaded)


def test_char_round_trip_stdlib_corpus(stdlib_corpus):
    text = stdlib_corpus.read_text(encoding="utf-8")
    tok = train_char([text])
    assert tok.decode(encode_text(tok, text)) == text
    assert tok.id_to_token(eot_id(tok)) == EOT


def test_bpe_round_trip_and_compression(stdlib_corpus, tmp_path):
    text = stdlib_corpus.read_text(encoding="utf-8")
    tok = train_bpe([str(stdlib_corpus)], vocab_size=600)
    ids = encode_text(tok, text)
    assert tok.decode(ids) == text
    assert len(ids) < len(text) / 2  # BPE actually merges
    loaded = Tokenizer.from_file(str(save_tokenizer(tok, tmp_path / "bpe.json")))
    assert loaded.encode(text[:5000]).ids == tok.encode(text[:5000]).ids
    assert not is_char_level(loaded)
    assert eot_id(loaded) == tok.token_to_id(EOT)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abc XYZ\n\t.,;'\"é中")), max_size=200))
def test_char_round_trip_property(text):
    tok = train_char(["abc XYZ\n\t.,;'\"é中"])
    assert tok.decode(tok.encode(text).ids) == text


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_bpe_round_trips_any_text(text):
    assert _BPE.decode(_BPE.encode(text).ids) == text


def _bpe() -> Tokenizer:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "c.txt"
        p.write_text("hello world, the quick brown fox\n" * 50, encoding="utf-8")
        return train_bpe([str(p)], vocab_size=300)


_BPE = _bpe()


def test_hash_changes_with_vocabulary():
    assert tokenizer_hash(train_char(["abc"])) != tokenizer_hash(train_char(["abd"]))
    assert tokenizer_hash(train_char(["abc"])) == tokenizer_hash(train_char(["cba"]))
