"""Conversations to token ids and labels: render (one pass, with spans), batch-encode, mask.

Labels are -100 everywhere except on the trainable spans (see forge.chat.spans). Text is
encoded without the tokenizer's own special tokens, as transformers' apply_chat_template does:
the template writes the bos it wants, and a tokenizer that adds one too would double it.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from forge.chat.bytetiles import token_ranges
from forge.chat.conversation import Conversation
from forge.chat.spans import MaskError, SpanFinder
from forge.chat.template import ChatTemplate
from forge.chat.tokenizer import ChatTokenizer
from forge.errors import ForgeError
from forge.heap import gc_paused

POLICIES = ("all_assistant", "last_assistant", "all")
TRUNCATION = ("drop", "truncate")
IGNORE = -100
_CHUNK = 1024


@dataclass(slots=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]
    text: str


@dataclass(slots=True)
class Rejected:
    reason: str
    """template_error, mask_error, no_trainable_tokens, too_long, empty."""
    detail: str


def trainable_indexes(conv: Conversation, policy: str) -> tuple[list[int], list[int]]:
    """(messages to train on, messages explicitly excluded) under a policy and `train` flags."""
    msgs = conv.messages
    assistants = [i for i, m in enumerate(msgs) if m.role == "assistant"]
    if policy in ("all_assistant", "last_assistant") and all(m.train is None for m in msgs):
        # the common case, no train flags: the policy's own choice, already in order
        return assistants if policy == "all_assistant" else assistants[-1:], []
    if policy == "all_assistant":
        base = set(assistants)
    elif policy == "last_assistant":
        base = set(assistants[-1:])
    else:  # "all": every message; train=False still excludes one
        base = set(range(len(msgs)))
    for i, m in enumerate(msgs):
        if m.train is True:
            base.add(i)
        elif m.train is False:
            base.discard(i)
    excluded = [i for i, m in enumerate(msgs) if m.train is False]
    return sorted(base), excluded


def check_policy(policy: str) -> None:
    if policy not in POLICIES:
        raise ForgeError(f"unknown loss policy {policy!r}", f"use one of: {', '.join(POLICIES)}")


def _check_args(policy: str, truncation: str) -> None:
    check_policy(policy)
    if truncation not in TRUNCATION:
        raise ForgeError(
            f"unknown truncation {truncation!r}", f"use one of: {', '.join(TRUNCATION)}"
        )


def _token_range(enc, n: int, a: int, b: int) -> tuple[int, int]:
    """Tokens covering characters [a, b): (first, last + 1). A character split over several
    byte tokens belongs to all of them, so the end walks over the tokens sharing the last
    character; a boundary character that no token covers (a normalizer dropped it) falls back
    to a binary search over the offsets."""
    ta, tb = enc.char_to_token(a), enc.char_to_token(b - 1)
    if ta is None or tb is None:
        offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
        return int(np.searchsorted(offsets[:, 1], a, side="right")), int(
            np.searchsorted(offsets[:, 0], b, side="left")
        )
    while tb + 1 < n and enc.token_to_chars(tb + 1)[0] < b:
        tb += 1
    return ta, tb + 1


def encode_conversations(
    template: ChatTemplate,
    tokenizer: ChatTokenizer,
    convs: Sequence[Conversation],
    policy: str = "all_assistant",
    max_length: int | None = None,
    truncation: str = "drop",
) -> list[Encoded | Rejected]:
    """Render, tokenize and mask conversations; one result per conversation, in order."""
    _check_args(policy, truncation)
    specials = {**template.special_tokens, **tokenizer.special_tokens}
    finder = SpanFinder(template, **specials)
    bos_id = tokenizer.bos_id
    tok = tokenizer.tokenizer
    lengths = tokenizer.byte_lengths()
    out: list[Encoded | Rejected] = []

    def finish(plans, texts, future) -> None:
        encs = future.result() if future is not None else []
        ids = [e.ids for e in encs]
        ranges = _ranges(tok, encs, ids, texts, plans, lengths)
        for plan in plans:
            if isinstance(plan, Rejected):
                out.append(plan)
                continue
            k = plan[0]
            kept, dropped = ranges[k]
            out.append(_mask(ids[k], texts[k], kept, dropped, bos_id, max_length, truncation))

    # Pipeline: the Rust tokenizer encodes chunk k on a worker thread (it releases the GIL)
    # while this thread renders chunk k+1 and masks chunk k-1. The cyclic garbage collector is
    # paused meanwhile: the results are many acyclic lists, and it would rescan them again and
    # again as they pile up (a quarter of forge's own time in the benchmark).
    # Byte-level BPE tokenizers encode without offsets (about 12% faster): the token ranges
    # come from the tokens' byte lengths (forge.chat.bytetiles).
    encode = tok.encode_batch if lengths is None else tok.encode_batch_fast
    with gc_paused():
        _pipeline(finder, encode, convs, policy, out, finish)
    return out


def _pipeline(finder, encode, convs, policy, out, finish) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        for lo in range(0, len(convs), _CHUNK):
            plans: list = []
            texts: list[str] = []
            for plan in _plan_chunk(finder, convs[lo : lo + _CHUNK], policy):
                if isinstance(plan, Rejected):
                    plans.append(plan)
                    continue
                text, keep, drop = plan
                plans.append((len(texts), keep, drop))
                texts.append(text)
            future = pool.submit(encode, texts, add_special_tokens=False) if texts else None
            if pending is not None:
                finish(*pending)
            pending = (plans, texts, future)
        if pending is not None:
            finish(*pending)


def _plan_chunk(finder: SpanFinder, convs: Sequence[Conversation], policy: str) -> list:
    """Render a chunk of conversations (batched where the template allows) and find their spans:
    per conversation, (text, spans to train, spans to exclude) or a Rejected."""
    plans: list = [None] * len(convs)
    todo: list[int] = []
    items: list[tuple[list[dict], object]] = []
    for k, conv in enumerate(convs):
        if not conv.messages:
            plans[k] = Rejected("empty", "the conversation has no messages")
            continue
        todo.append(k)
        items.append((finder.template.inputs(conv), conv.tools))
    for k, (msgs, _), result in zip(todo, items, finder.render_many(items), strict=True):
        plans[k] = _plan(finder, convs[k], msgs, result, policy)
    return plans


def _plan(finder: SpanFinder, conv: Conversation, msgs: list[dict], result, policy: str):
    if isinstance(result, MaskError):
        return Rejected("mask_error", str(result))
    if isinstance(result, Exception):
        return Rejected("template_error", f"{type(result).__name__}: {result}")
    text, pos, every = result
    train, excluded = trainable_indexes(conv, policy)
    try:
        wanted = sorted(set(excluded) | set(train)) if policy == "all" else train
        spans = finder.spans(msgs, text, pos, every, wanted)
    except MaskError as e:
        return Rejected("mask_error", str(e))
    if policy == "all":
        trainset = set(train)
        keep = [(0, len(text))] if text else []
        drop = [(s.start, s.end) for s in spans if s.index not in trainset]
    else:
        keep = [(s.start, s.end) for s in spans]
        drop = []
    return text, keep, drop


def _ranges(tok, encs, ids, texts, plans, lengths) -> list:
    """Per encoded text, (token ranges to train, token ranges to exclude) of its plan's
    character spans: from the tokens' byte lengths where the tokenizer allows, else (and for
    a row whose lengths do not add up) from the tokenizer's offsets."""
    spans: list[list[tuple[int, int]]] = [[] for _ in texts]
    n_keep = [0] * len(texts)
    for plan in plans:
        if not isinstance(plan, Rejected):
            k, keep, drop = plan
            spans[k] = [(a, b) for a, b in keep if b > a]
            n_keep[k] = len(spans[k])
            spans[k] += [(a, b) for a, b in drop if b > a]
    if lengths is None:
        found: list = [None] * len(texts)
        offsets = dict(enumerate(encs))
    else:
        found = token_ranges(ids, texts, spans, lengths)
        redo = [k for k, r in enumerate(found) if r is None]
        again = tok.encode_batch([texts[k] for k in redo], add_special_tokens=False) if redo else []
        offsets = dict(zip(redo, again, strict=True))
    for k, enc in offsets.items():
        found[k] = [_token_range(enc, len(enc.ids), a, b) for a, b in spans[k]]
    return [(r[:n], r[n:]) for r, n in zip(found, n_keep, strict=True)]


def _labels(enc, text, keep, drop, bos_id, max_length, truncation) -> Encoded | Rejected:
    """_mask with the character spans found in the encoding's offsets."""
    n = len(enc.ids)
    kept = [_token_range(enc, n, a, b) for a, b in keep if b > a]
    dropped = [_token_range(enc, n, a, b) for a, b in drop if b > a]
    return _mask(enc.ids, text, kept, dropped, bos_id, max_length, truncation)


def _mask(ids, text, kept, dropped, bos_id, max_length, truncation) -> Encoded | Rejected:
    """Labels from the token ranges to train (`kept`) and to exclude (`dropped`)."""
    n = len(ids)
    # a template and its data both wrote bos: keep one, so the model never sees "<s><s>"
    start = 1 if bos_id is not None and n > 1 and ids[0] == bos_id and ids[1] == bos_id else 0
    end = n
    if max_length is not None and n - start > max_length:
        if truncation == "drop":
            return Rejected("too_long", f"{n - start} tokens > max_length {max_length}")
        end = start + max_length
    labels = [IGNORE] * n
    for ta, tb in kept:
        labels[ta:tb] = ids[ta:tb]
    for ta, tb in dropped:
        labels[ta:tb] = [IGNORE] * (tb - ta)
    if not _trained_left(kept, dropped, start, end):
        return Rejected(
            "no_trainable_tokens", "no token of this conversation is trained under the policy"
        )
    if start or end < n:
        ids, labels = ids[start:end], labels[start:end]
    return Encoded(input_ids=ids, labels=labels, text=text)


def _trained_left(kept: list, dropped: list, lo: int, hi: int) -> bool:
    """Whether a token in [lo, hi) is in a kept range and in no dropped one: a label that is not
    IGNORE once the ranges are applied (token ids are never negative), without scanning the
    labels."""
    dropped = sorted(dropped)
    for ta, tb in kept:
        p, b = max(ta, lo), min(tb, hi)
        for da, db in dropped:
            if p >= b or da > p:
                break  # past the range, or p is in no dropped range
            if db > p:
                p = db  # p is dropped: the first token after this dropped range
        if p < b:
            return True
    return False
