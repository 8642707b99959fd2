"""Batches bounded by padded tokens, and handing freed memory back after a batch.

A transformer's activations grow with the padded size of its batch (texts x the longest
text's tokens; attention with its square), so a fixed number of texts per batch either holds
far too much memory on long texts or wastes forward passes on short ones. Texts sorted by
length and cut whenever the padded size would pass a token budget give long texts small
batches and short texts large ones, with the longest-first order keeping padding low.
"""

from __future__ import annotations


def token_batches(lengths: list[int], budget: int, max_texts: int) -> list[list[int]]:
    """Indices into ``lengths``, longest first, in batches of at most ``max_texts`` whose
    padded size (texts x longest) stays within ``budget``; a text longer than the budget
    goes alone. Every index appears exactly once."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        cur = batches[-1] if batches else None
        # Sorted longest first: the batch's first text sets its padded length.
        if cur and len(cur) < max_texts and (len(cur) + 1) * max(lengths[cur[0]], 1) <= budget:
            cur.append(i)
        else:
            batches.append([i])
    return batches
