"""Loss-curve plots (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _series(metrics: list[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for m in metrics:
        v = m.get(key)
        if isinstance(v, (int, float)):
            xs.append(m["step"])
            ys.append(v)
    return xs, ys


def plot_runs(runs: dict[str, list[dict[str, Any]]], out: Path, title: str = "loss") -> Path:
    """Train and validation loss of one or more runs against the step, into a PNG."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for name, metrics in runs.items():
        label = f"{name} " if len(runs) > 1 else ""
        xs, ys = _series(metrics, "loss")
        if xs:
            ax.plot(xs, ys, alpha=0.5, linewidth=0.8, label=f"{label}train")
        xs, ys = _series(metrics, "val/loss")
        if xs:
            ax.plot(xs, ys, marker="o", markersize=3, label=f"{label}validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats/token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out = Path(out)
    tmp = out.with_name(out.stem + ".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, out)
    return out
