"""Token ranges from byte lengths (forge.chat.bytetiles) against the tokenizer's own offsets:
which tokenizers qualify, the same ranges for every span of random text, and the same
encoded rows for every built-in family, with and without the per-row fallback."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors

from forge.chat import Conversation, builtin, encode_conversations
from forge.chat.battery import cases
from forge.chat.bytetiles import byte_lengths, token_ranges
from forge.chat.encode import _token_range
from forge.chat.template import builtin_template
from forge.chat.tokenizer import ChatTokenizer

from .conftest import train_bpe

SPECIALS = ["<|im_start|>", "<|im_end|>", "<s>"]


@pytest.fixture(scope="module")
def bpe() -> Tokenizer:
    return train_bpe(SPECIALS)


@pytest.fixture(scope="module")
def bpe_lengths(bpe):
    return byte_lengths(bpe)  # the probe check once, not once per hypothesis example


def _variant(tok: Tokenizer, change) -> Tokenizer:
    other = Tokenizer.from_str(tok.to_str())
    change(other)
    return other


def test_byte_level_bpe_qualifies_and_others_do_not(bpe):
    lengths = byte_lengths(bpe)
    assert lengths is not None
    vocab = bpe.get_vocab()
    assert lengths[vocab["<|im_start|>"]] == len("<|im_start|>")
    assert all(lengths[i] == len(t) for t, i in vocab.items())  # one alphabet char a byte

    def nfc(t):
        t.normalizer = normalizers.NFC()

    def prefix_space(t):
        t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)

    def whitespace(t):
        t.pre_tokenizer = pre_tokenizers.Whitespace()

    def removed(t):
        t.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Split(" ", "removed"), pre_tokenizers.ByteLevel(add_prefix_space=False)]
        )

    for change in (nfc, prefix_space, whitespace, removed):
        assert byte_lengths(_variant(bpe, change)) is None, change.__name__

    def split_digits(t):  # steps that keep every byte, as Llama 3 and Qwen 2 have
        t.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(False)]
        )

    assert byte_lengths(_variant(bpe, split_digits)) is not None


def test_a_stripping_added_token_disqualifies(bpe):
    from tokenizers import AddedToken

    t = _variant(bpe, lambda t: t.add_special_tokens([AddedToken("<x>", lstrip=True)]))
    assert byte_lengths(t) is None


def test_trimmed_offsets_keep_the_offsets_way(bpe):
    """GPT-2's ByteLevel post-processor trims the offsets of tokens with a leading space, so
    the offsets no longer say which bytes a token holds: the probes find the difference and
    such a tokenizer keeps the offsets way (its labels as before)."""
    t = _variant(
        bpe, lambda t: setattr(t, "post_processor", processors.ByteLevel(trim_offsets=True))
    )
    assert byte_lengths(t) is None
    untrimmed = _variant(
        bpe, lambda t: setattr(t, "post_processor", processors.ByteLevel(trim_offsets=False))
    )
    assert byte_lengths(untrimmed) is not None  # Qwen 2 and Llama 3 write this one


def _check_random_spans(tok, lengths, texts):
    for text in texts:
        enc = tok.encode_batch([text], add_special_tokens=False)[0]
        n = len(enc.ids)
        spans = [(a, b) for a in range(len(text)) for b in (a + 1, len(text))]
        (got,) = token_ranges([enc.ids], [text], [spans], lengths)
        assert got == [_token_range(enc, n, a, b) for a, b in spans], text


TEXT = st.lists(
    st.sampled_from([*"ab é日🙂 \n\t.,1", "  ", "hello", " world", *SPECIALS]),
    min_size=1,
    max_size=30,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(TEXT, min_size=1, max_size=4))
def test_every_span_of_random_text_matches_the_offsets(bpe, bpe_lengths, parts):
    _check_random_spans(bpe, bpe_lengths, ["".join(parts), *parts])


def test_a_row_whose_lengths_do_not_add_up_is_none(bpe, bpe_lengths):
    lengths = bpe_lengths.copy()
    text = "hello world"
    ids = bpe.encode(text, add_special_tokens=False).ids
    lengths[ids[0]] += 1
    assert token_ranges([ids, ids], [text, "hello worl"], [[(0, 5)], [(0, 5)]], lengths) == [
        None,
        None,
    ]


def _offsets_only(tok: ChatTokenizer) -> ChatTokenizer:
    other = dataclasses.replace(tok)
    other._byte_lengths = None
    return other


CONVS = [
    Conversation.from_dict({"messages": c.messages, "tools": c.tools})
    for c in cases()
    if not c.extra and not c.add_generation_prompt
]


@pytest.mark.parametrize("name", list(builtin.FAMILIES))
@pytest.mark.parametrize("policy", ["all_assistant", "all"])
def test_every_family_encodes_the_same_rows_either_way(family_tokenizer, name, policy):
    tok = family_tokenizer(name)
    assert tok.byte_lengths() is not None
    template = builtin_template(name)
    fast = encode_conversations(
        template, tok, CONVS, policy=policy, max_length=300, truncation="truncate"
    )
    slow = encode_conversations(
        template, _offsets_only(tok), CONVS, policy=policy, max_length=300, truncation="truncate"
    )
    assert fast == slow
    assert sum(hasattr(r, "labels") for r in fast) >= 10  # rows encoded, not only refused


def test_rows_that_do_not_add_up_take_the_offsets(family_tokenizer):
    tok = family_tokenizer("chatml")
    want = encode_conversations(builtin_template("chatml"), _offsets_only(tok), CONVS)
    broken = dataclasses.replace(tok)
    lengths = tok.byte_lengths().copy()
    lengths[tok.tokenizer.token_to_id("<|im_start|>")] += 1  # every chatml row disagrees
    broken._byte_lengths = lengths
    assert encode_conversations(builtin_template("chatml"), broken, CONVS) == want
