"""encode._labels against the previous implementation (kept here): the same ids, labels and
rejections for any token layout, kept and dropped spans, doubled bos and truncation."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from forge.chat.encode import IGNORE, Encoded, Rejected, _labels, _token_range, _trained_left


class FakeEncoding:
    """Tokens over a text: ids and character offsets (gaps: characters no token covers)."""

    def __init__(self, ids: list[int], offsets: list[tuple[int, int]]):
        self.ids = list(ids)
        self.offsets = offsets

    def char_to_token(self, c: int) -> int | None:
        for i, (a, b) in enumerate(self.offsets):
            if a <= c < b:
                return i
        return None

    def token_to_chars(self, i: int) -> tuple[int, int]:
        return self.offsets[i]


def reference_labels(enc, text, keep, drop, bos_id, max_length, truncation):
    ids = enc.ids
    n = len(ids)
    labels = [IGNORE] * n
    for a, b in keep:
        if b > a:
            ta, tb = _token_range(enc, n, a, b)
            labels[ta:tb] = ids[ta:tb]
    for a, b in drop:
        if b > a:
            ta, tb = _token_range(enc, n, a, b)
            labels[ta:tb] = [IGNORE] * (tb - ta)
    start = 0
    if bos_id is not None and n > 1 and ids[0] == bos_id and ids[1] == bos_id:
        start = 1
    if start:
        ids, labels = ids[start:], labels[start:]
        n -= start
    if max_length is not None and n > max_length:
        if truncation == "drop":
            return Rejected("too_long", f"{n} tokens > max_length {max_length}")
        ids, labels = ids[:max_length], labels[:max_length]
    if labels.count(IGNORE) == len(labels):
        return Rejected(
            "no_trainable_tokens", "no token of this conversation is trained under the policy"
        )
    return Encoded(input_ids=ids, labels=labels, text=text)


@st.composite
def cases(draw):
    widths = draw(st.lists(st.integers(0, 4), min_size=0, max_size=25))
    offsets, at = [], 0
    for w in widths:
        at += draw(st.sampled_from([0, 0, 0, 1]))  # now and then a character no token covers
        offsets.append((at, at + max(w, 1) if w else at + 1))
        at += max(w, 1) if w else 0  # width 0: the next token shares this character
    size = at + 2
    ids = draw(st.lists(st.integers(0, 9), min_size=len(offsets), max_size=len(offsets)))
    span = st.tuples(st.integers(0, size), st.integers(0, size))
    keep = draw(st.lists(span, max_size=4))
    drop = draw(st.lists(span, max_size=3))
    bos = draw(st.sampled_from([None, 0, 1]))
    max_length = draw(st.sampled_from([None, 0, 1, 3, 8, 30]))
    truncation = draw(st.sampled_from(["drop", "truncate"]))
    return FakeEncoding(ids, offsets), "x" * size, keep, drop, bos, max_length, truncation


@settings(max_examples=600, deadline=None)
@given(cases())
def test_labels_as_before(case):
    enc, text, keep, drop, bos, max_length, truncation = case
    want = reference_labels(enc, text, keep, drop, bos, max_length, truncation)
    assert _labels(enc, text, keep, drop, bos, max_length, truncation) == want


span = st.tuples(st.integers(0, 20), st.integers(0, 20))


@settings(max_examples=600, deadline=None)
@given(st.lists(span, max_size=4), st.lists(span, max_size=4), span)
def test_trained_left_is_a_scan_of_the_labels(kept, dropped, window):
    labels = [False] * 20
    for a, b in kept:
        labels[a:b] = [True] * len(labels[a:b])
    for a, b in dropped:
        labels[a:b] = [False] * len(labels[a:b])
    lo, hi = window
    assert _trained_left(kept, dropped, lo, hi) == any(labels[lo:hi])


def reference_trainable_indexes(conv, policy):
    msgs = conv.messages
    assistants = [i for i, m in enumerate(msgs) if m.role == "assistant"]
    if policy == "all_assistant":
        base = set(assistants)
    elif policy == "last_assistant":
        base = set(assistants[-1:])
    else:
        base = set(range(len(msgs)))
    for i, m in enumerate(msgs):
        if m.train is True:
            base.add(i)
        elif m.train is False:
            base.discard(i)
    excluded = [i for i, m in enumerate(msgs) if m.train is False]
    return sorted(base), excluded


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["system", "user", "assistant", "tool"]),
            st.sampled_from([None, None, True, False]),
        ),
        max_size=8,
    ),
    st.sampled_from(["all_assistant", "last_assistant", "all"]),
)
def test_trainable_indexes_as_before(shape, policy):
    from forge.chat.conversation import Conversation, Message
    from forge.chat.encode import trainable_indexes

    conv = Conversation([Message(role, "x", train=train) for role, train in shape])
    assert trainable_indexes(conv, policy) == reference_trainable_indexes(conv, policy)
