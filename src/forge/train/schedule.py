"""Learning-rate schedules as plain functions of the step (no scheduler object to save).

Each takes ``(step, max_lr, min_lr, warmup, total)``: a linear warmup over ``warmup`` steps,
then its own shape from ``max_lr`` to ``min_lr`` at ``total``.
"""

from __future__ import annotations

import math

from forge.registry import register


def _progress(step: int, warmup: int, total: int) -> float:
    """Share of the post-warmup steps done, in [0, 1]."""
    if step >= total:
        return 1.0
    return (step - warmup) / max(1, total - warmup)


@register("scheduler", "cosine")
def cosine(step: int, max_lr: float, min_lr: float, warmup: int, total: int) -> float:
    """Cosine decay from ``max_lr`` to ``min_lr`` (Loshchilov & Hutter, SGDR)."""
    if step < warmup:
        return max_lr * (step + 1) / (warmup + 1)
    p = _progress(step, warmup, total)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * p)) * (max_lr - min_lr)


@register("scheduler", "linear")
def linear(step: int, max_lr: float, min_lr: float, warmup: int, total: int) -> float:
    """A straight line from ``max_lr`` down to ``min_lr``."""
    if step < warmup:
        return max_lr * (step + 1) / (warmup + 1)
    return min_lr + (1.0 - _progress(step, warmup, total)) * (max_lr - min_lr)


@register("scheduler", "constant")
def constant(step: int, max_lr: float, min_lr: float, warmup: int, total: int) -> float:
    """``max_lr`` throughout after warmup."""
    if step < warmup:
        return max_lr * (step + 1) / (warmup + 1)
    return max_lr
