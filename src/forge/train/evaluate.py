"""Validation loss on a fixed set of batches: loss, perplexity, bits per character/byte."""

from __future__ import annotations

import contextlib
import math

import torch

from forge.train.data import TokenData
from forge.train.dist import DistInfo, mean

# Eval batches are drawn with their own seed so every evaluation sees the same windows
# (comparable across steps and runs) and training's sampler is untouched.
EVAL_SEED_OFFSET = 1_000_003


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    data: TokenData,
    split: str,
    batches: int,
    batch_size: int,
    block: int,
    seed: int,
    info: DistInfo | None = None,
    autocast=None,
    char_level: bool = False,
) -> dict[str, float]:
    """Mean loss over ``batches`` fixed batches (split across ranks under DDP)."""
    info = info or DistInfo()
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64)
    n = 0
    for i in range(info.rank, batches, info.world):
        x, y = data.batch(split, seed + EVAL_SEED_OFFSET, i, batch_size, block, device=info.device)
        with autocast or contextlib.nullcontext():
            _, loss = model(x, y)
        total += loss.detach().double().cpu()
        n += 1
    model.train(was_training)
    # sum and count over ranks (ranks may hold one batch more than others)
    loss = float(mean(total, info)) / max(1e-9, float(mean(torch.tensor(float(n)), info)))
    out = {
        "loss": loss,
        "perplexity": math.exp(min(loss, 50.0)),
        "bits_per_byte": loss / math.log(2) / data.bytes_per_token,
    }
    if char_level:
        out["bits_per_char"] = loss / math.log(2)
    return out
