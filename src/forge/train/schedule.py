"""Learning-rate schedules as plain functions of the step (no scheduler object to save)."""

from __future__ import annotations

import math

from forge.registry import register


@register("scheduler", "cosine")
def cosine(step: int, max_lr: float, min_lr: float, warmup: int, total: int) -> float:
    """Linear warmup for ``warmup`` steps, then cosine decay to ``min_lr`` at ``total``."""
    if step < warmup:
        return max_lr * (step + 1) / (warmup + 1)
    if step >= total:
        return min_lr
    progress = (step - warmup) / max(1, total - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (max_lr - min_lr)


@register("scheduler", "constant")
def constant(step: int, max_lr: float, min_lr: float, warmup: int, total: int) -> float:
    """Linear warmup, then ``max_lr`` throughout."""
    if step < warmup:
        return max_lr * (step + 1) / (warmup + 1)
    return max_lr


@register("scheduler", "linear")
def linear(step: int, max_lr: float, min_lr: float, warmup: int, total: int) -> float:
    """Linear warmup, then a straight line down to ``min_lr`` at ``total``."""
    if step < warmup:
        return max_lr * (step + 1) / (warmup + 1)
    if step >= total:
        return min_lr
    progress = (step - warmup) / max(1, total - warmup)
    return max_lr + progress * (min_lr - max_lr)
