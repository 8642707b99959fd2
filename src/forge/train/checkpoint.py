"""Checkpoints: one folder per saved step, written whole or not at all.

``runs/<run>/checkpoints/step-0000500/`` holds
- ``model.safetensors``  the weights;
- ``state.pt``           optimizer, grad scaler, every RNG (Python, NumPy, torch, CUDA; one
                          entry per rank), the sampler position, counters, early-stopping state;
- ``tokenizer.json``     the tokenizer, and ``meta.json`` with its hash, the step and the
                          model config.

A checkpoint is written into a hidden temporary folder and renamed into place, so a run
killed at any moment leaves only whole checkpoints behind. The last ``keep_last`` and the best
one are kept.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import torch
from safetensors.torch import load_model, save_model
from tokenizers import Tokenizer

from forge.errors import ForgeError
from forge.train.tokenizer import load_tokenizer, save_tokenizer, tokenizer_hash

PREFIX = "step-"


def rng_state() -> dict[str, Any]:
    """Every random number generator a training step can touch."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def step_dir(run_dir: Path, step: int) -> Path:
    return run_dir / "checkpoints" / f"{PREFIX}{step:07d}"


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """Whole checkpoints of a run, oldest first (temporary folders are ignored)."""
    root = run_dir / "checkpoints"
    if not root.is_dir():
        return []
    out = []
    for p in root.iterdir():
        if p.is_dir() and p.name.startswith(PREFIX) and (p / "meta.json").is_file():
            out.append((int(p.name[len(PREFIX) :]), p))
    return sorted(out)


def save_checkpoint(
    run_dir: Path,
    step: int,
    model: torch.nn.Module,
    tokenizer: Tokenizer,
    state: dict[str, Any],
    meta: dict[str, Any],
) -> Path:
    """Write a checkpoint atomically and return its folder."""
    final = step_dir(run_dir, step)
    tmp = final.with_name(f".tmp-{final.name}-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    save_model(model, str(tmp / "model.safetensors"))  # handles the tied embedding
    torch.save(state, tmp / "state.pt")
    save_tokenizer(tokenizer, tmp / "tokenizer.json")
    meta = {**meta, "step": step, "tokenizer_hash": tokenizer_hash(tokenizer)}
    (tmp / "meta.json").write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    for f in tmp.iterdir():  # data on disk before the rename makes the folder visible
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def prune(run_dir: Path, keep_last: int, best_step: int | None) -> None:
    """Delete all but the last ``keep_last`` checkpoints and the best one."""
    ckpts = list_checkpoints(run_dir)
    keep = {s for s, _ in ckpts[-keep_last:]}
    if best_step is not None:
        keep.add(best_step)
    for s, p in ckpts:
        if s not in keep:
            shutil.rmtree(p, ignore_errors=True)
    for p in (run_dir / "checkpoints").glob(".tmp-*"):  # leftovers of a killed save
        if not p.name.endswith(f"-{os.getpid()}"):
            shutil.rmtree(p, ignore_errors=True)


def read_meta(ckpt: Path) -> dict[str, Any]:
    return orjson.loads((ckpt / "meta.json").read_bytes())


def load_weights(ckpt: Path, model: torch.nn.Module) -> None:
    missing, unexpected = load_model(model, str(ckpt / "model.safetensors"), strict=False)
    # the tied lm_head is stored once, under the embedding's name
    missing = [m for m in missing if m != "lm_head.weight"]
    if missing or unexpected:
        raise ForgeError(
            f"{ckpt}: weights do not fit the model (missing {missing[:3]}, unexpected "
            f"{unexpected[:3]})",
            "the checkpoint was written by another model configuration",
        )


def load_state(ckpt: Path) -> dict[str, Any]:
    # Our own file with NumPy RNG state inside, so not weights_only.
    return torch.load(ckpt / "state.pt", map_location="cpu", weights_only=False)


def check_tokenizer(ckpt: Path, tokenizer: Tokenizer) -> None:
    """Refuse a tokenizer other than the one the checkpoint was trained with."""
    want = read_meta(ckpt)["tokenizer_hash"]
    got = tokenizer_hash(tokenizer)
    if want != got:
        raise ForgeError(
            f"{ckpt}: trained with tokenizer {want}, but the tokenizer given hashes to {got}",
            "use the run's own tokenizer.json (leave --tokenizer unset)",
        )


def checkpoint_tokenizer(ckpt: Path) -> Tokenizer:
    tok = load_tokenizer(ckpt / "tokenizer.json")
    check_tokenizer(ckpt, tok)  # a tokenizer.json edited by hand is caught here
    return tok
