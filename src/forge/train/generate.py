"""Sampling from a GPT with a KV cache: temperature, top-k, top-p, a seeded generator."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from tokenizers import Tokenizer

from forge.train.model import GPT, KVCache


def filter_logits(logits: torch.Tensor, top_k: int | None, top_p: float | None) -> torch.Tensor:
    """Keep the ``top_k`` most likely tokens, then the smallest set with mass >= ``top_p``."""
    if top_k is not None and 0 < top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1, None]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and 0 < top_p < 1:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        probs = torch.softmax(sorted_logits, dim=-1)
        # drop a token when the tokens before it already reach top_p (the first always stays)
        drop = probs.cumsum(dim=-1) - probs >= top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    return logits


@torch.no_grad()
def sample_ids(
    model: GPT,
    prompt: list[int],
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
    stop_id: int | None = None,
) -> Iterator[int]:
    """Yield new token ids one at a time. The cache holds up to block_size tokens; when it is
    full, it is rebuilt from the last half block so generation can go on indefinitely."""
    was_training = model.training
    model.eval()
    try:
        cfg = model.config
        device = next(model.parameters()).device
        dtype = next(model.parameters()).dtype
        ids = list(prompt) or [0]
        cache = KVCache(cfg, 1, device, dtype)
        context = ids[-cfg.block_size :]
        logits, _ = model(torch.tensor([context], device=device), cache=cache)
        for _ in range(max_new_tokens):
            last = logits[:, -1, :].float()
            if temperature <= 0:
                nxt = int(last.argmax(dim=-1))
            else:
                probs = torch.softmax(filter_logits(last / temperature, top_k, top_p), dim=-1)
                nxt = int(torch.multinomial(probs, 1, generator=generator))
            yield nxt
            if stop_id is not None and nxt == stop_id:
                return
            ids.append(nxt)
            if cache.pos >= cfg.block_size:
                cache = KVCache(cfg, 1, device, dtype)
                context = ids[-(cfg.block_size // 2) :]
                logits, _ = model(torch.tensor([context], device=device), cache=cache)
            else:
                logits, _ = model(torch.tensor([[nxt]], device=device), cache=cache)
    finally:
        model.train(was_training)


def stream_text(
    model: GPT,
    tokenizer: Tokenizer,
    prompt: str,
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
) -> Iterator[str]:
    """Yield pieces of generated text as they become printable (whole UTF-8 characters)."""
    from forge.train.tokenizer import eot_id

    gen = torch.Generator(device=next(model.parameters()).device)
    if seed is not None:
        gen.manual_seed(seed)
    else:
        gen.seed()
    prompt_ids = tokenizer.encode(prompt, add_special_tokens=False).ids
    new: list[int] = []
    shown = ""
    try:
        stop = eot_id(tokenizer)
    except Exception:
        stop = None
    for tok in sample_ids(model, prompt_ids, max_new_tokens, temperature, top_k, top_p, gen, stop):
        if tok == stop:
            break
        new.append(tok)
        text = tokenizer.decode(new, skip_special_tokens=True)
        if text.endswith("\ufffd"):  # half of a multi-byte character: wait for the rest
            continue
        if len(text) > len(shown) and text.startswith(shown):
            yield text[len(shown) :]
            shown = text
    text = tokenizer.decode(new, skip_special_tokens=True)
    if text != shown and text.startswith(shown):
        yield text[len(shown) :]


def generate_text(model: GPT, tokenizer: Tokenizer, prompt: str, **kw) -> str:
    """The whole generated continuation of ``prompt`` (without the prompt)."""
    return "".join(stream_text(model, tokenizer, prompt, **kw))
