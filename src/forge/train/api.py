"""The Python API over finished runs: evaluate one, generate with one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from forge.errors import ForgeError
from forge.train.checkpoint import read_meta
from forge.train.data import open_data
from forge.train.dist import DistInfo, pick_device
from forge.train.evaluate import evaluate
from forge.train.generate import stream_text
from forge.train.runs import find_run, load_model, read_status
from forge.train.tokenizer import is_char_level


def evaluate_run(
    run: str | Path,
    output_dir: str | Path = "runs",
    split: str = "validation",
    batches: int | None = None,
    checkpoint: str = "best",
    device: str = "auto",
) -> dict[str, Any]:
    """Loss, perplexity and bits per byte (and per character) of a run's checkpoint on the
    data it was trained on, over the same fixed batches training evaluates."""
    if split not in ("validation", "train"):
        raise ForgeError(f"--split {split}: unknown split", "use validation or train")
    run_dir = find_run(str(run), output_dir)
    info = DistInfo(device=pick_device(device))
    model, tok, ckpt = load_model(run_dir, checkpoint, info.device)
    resolved = orjson.loads((run_dir / "resolved.json").read_bytes())
    t = resolved["training"]
    data_path = read_status(run_dir).get("data")
    if not data_path or not Path(data_path).exists():
        raise ForgeError(
            f"{run_dir}: its training data {data_path} is gone", "restore the data file"
        )
    cache = Path(t["output_dir"]) / ".cache" / "tokens"
    data = open_data(data_path, tok, t["val_fraction"], cache, t.get("data_source", "auto"))
    out = evaluate(
        model,
        data,
        split,
        batches or t["eval_batches"],
        t["batch_size"],
        model.config.block_size,
        t["seed"],
        info,
        char_level=is_char_level(tok),
    )
    return {"run": run_dir.name, "split": split, "step": read_meta(ckpt)["step"], **out}


def stream_run(
    run: str | Path,
    output_dir: str | Path = "runs",
    prompt: str = "\n",
    max_new_tokens: int = 200,
    temperature: float = 0.8,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    checkpoint: str = "best",
    device: str = "auto",
) -> Iterator[str]:
    """Pieces of text continuing ``prompt``, as they are generated (KV cache)."""
    run_dir = find_run(str(run), output_dir)
    model, tok, _ = load_model(run_dir, checkpoint, pick_device(device))
    return stream_text(model, tok, prompt, max_new_tokens, temperature, top_k, top_p, seed)
