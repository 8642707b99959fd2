"""Everything a run needs before its first step: the run folder, config, tokenizer, data,
model and optimizer, and (on resume) the state of the checkpoint it continues from."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import torch
import yaml
from tokenizers import Tokenizer

from forge.config import ForgeConfig, dump_config, validate
from forge.config.training import TrainingConfig
from forge.errors import ForgeError
from forge.registry import get
from forge.train import dist, optim, schedule  # noqa: F401  (registers components)
from forge.train.checkpoint import (
    check_tokenizer,
    list_checkpoints,
    load_state,
    load_weights,
    set_rng_state,
)
from forge.train.data import TokenData, open_data
from forge.train.model import GPTConfig
from forge.train.runs import find_run, write_status
from forge.train.spec import resolve
from forge.train.tokenizer import load_tokenizer, save_tokenizer, train_bpe, train_char


@dataclass
class Run:
    dir: Path
    cfg: ForgeConfig
    tcfg: TrainingConfig
    preset: str
    tokenizer: Tokenizer
    data: TokenData
    model_cfg: GPTConfig
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    info: dist.DistInfo
    state: dict[str, Any] = field(default_factory=dict)  # restored counters, empty when new


def data_path(cfg: ForgeConfig, tcfg: TrainingConfig) -> Path:
    p = Path(tcfg.data) if tcfg.data else Path(cfg.data.output_dir) / cfg.data.name
    if not p.exists():
        raise ForgeError(
            f"training data {p} does not exist",
            "set training.data to a text file or run `forge prepare` (or pass --data)",
        )
    return p


def make_tokenizer(spec: str, data: Path, vocab_size: int) -> Tokenizer | None:
    """The tokenizer a new run asks for. None: take the prepared dataset's own."""
    if data.is_dir() and spec in ("char", "bpe", "gpt2"):
        return None
    if spec == "char":
        try:
            return train_char([data.read_text(encoding="utf-8")])
        except UnicodeDecodeError as e:
            raise ForgeError(f"{data}: not UTF-8 text (byte {e.start})", "convert it") from e
    if spec == "bpe":
        return train_bpe([str(data)], vocab_size)
    if spec == "gpt2":
        raise ForgeError(
            "this preset uses GPT-2's tokenizer, which forge cannot download",
            "set model.tokenizer to a local folder with GPT-2's tokenizer.json",
        )
    return load_tokenizer(spec)


def _new_run_dir(tcfg: TrainingConfig, preset: str) -> Path:
    root = Path(tcfg.output_dir)
    name = tcfg.run_name or f"{preset}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = root / name
    if (run_dir / "run.json").exists():
        if tcfg.run_name:
            raise ForgeError(
                f"run {run_dir} already exists",
                f"resume it with `forge train --resume {name}`, or choose another run_name",
            )
        run_dir = root / f"{name}-{os.getpid()}"
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    return run_dir


def build(
    cfg: ForgeConfig, resume: str | None, info: dist.DistInfo, max_steps: int | None = None
) -> Run:
    """Set up a new run, or restore one (``resume``: a run name/path or ``auto``)."""
    cfg = cfg.model_copy(deep=True)  # the caller's config stays as it was
    run_dir: Path | None = None
    if resume:
        if info.main:
            run_dir = find_run(resume, cfg.training.output_dir)
        run_dir = Path(dist.broadcast_object(str(run_dir) if run_dir else None, info))
        text = (run_dir / "config.yaml").read_text(encoding="utf-8")
        cfg = validate(yaml.safe_load(text), str(run_dir / "config.yaml"), text)
        if max_steps:
            cfg.training.max_steps = max_steps
    tcfg, preset_model, preset = resolve(cfg.training, cfg.model.name)
    path = data_path(cfg, tcfg).resolve()  # absolute: resume and eval work from any folder
    cache_dir = Path(tcfg.output_dir) / ".cache" / "tokens"

    # Rank 0 makes the tokenizer, the token cache and the run folder; the others then read them.
    tok: Tokenizer | None = None
    if info.main:
        if run_dir is not None:
            tok = load_tokenizer(run_dir / "tokenizer.json")
        else:
            spec = cfg.model.tokenizer or preset_model.get("vocab", "char")
            tok = make_tokenizer(spec, path, tcfg.gpt.vocab_size or 4096)
        data = open_data(path, tok, tcfg.val_fraction, cache_dir, tcfg.data_source)
        tok = data.tokenizer
        data.check_block(tcfg.gpt.block_size)  # before a run folder is made for nothing
        if run_dir is None:
            run_dir = _new_run_dir(tcfg, preset)
            save_tokenizer(tok, run_dir / "tokenizer.json")
            # only the keys that were set: resume then resolves the preset exactly as now
            cfg.training.data = str(path)
            (run_dir / "config.yaml").write_text(dump_config(cfg), encoding="utf-8")
    run_dir = Path(dist.broadcast_object(str(run_dir), info))
    dist.barrier(info)
    if not info.main:
        tok = load_tokenizer(run_dir / "tokenizer.json")
        data = open_data(path, tok, tcfg.val_fraction, cache_dir, tcfg.data_source)
    assert tok is not None

    model_cfg = GPTConfig.from_dict({**tcfg.gpt.model_dump(), "vocab_size": tok.get_vocab_size()})
    # Seed everything before the weights are drawn; each rank gets its own dropout stream.
    random.seed(tcfg.seed + info.rank)
    np.random.seed(tcfg.seed + info.rank)
    torch.manual_seed(tcfg.seed + info.rank)
    if info.ddp:  # every rank starts from the same weights: draw them with rank 0's seed
        torch.manual_seed(tcfg.seed)
    model = get("model", tcfg.model_type)(model_cfg).to(info.device)
    if info.ddp:
        torch.manual_seed(tcfg.seed + info.rank)
    optimizer = get("optimizer", tcfg.optimizer)(model, tcfg, info.device)

    state: dict[str, Any] = {}
    if resume:
        ckpts = list_checkpoints(run_dir)
        if not ckpts:
            raise ForgeError(f"{run_dir}: no checkpoint to resume from", "start a new run")
        ckpt = ckpts[-1][1]
        check_tokenizer(ckpt, tok)
        load_weights(ckpt, model)
        state = load_state(ckpt)
        optimizer.load_state_dict(state["optimizer"])
        rngs = state["rng"]
        if len(rngs) != info.world:
            raise ForgeError(
                f"{ckpt}: saved by {len(rngs)} processes, resumed with {info.world}",
                f"resume with --nproc-per-node {len(rngs)} for an exact continuation",
            )
        set_rng_state(rngs[info.rank])
        state["checkpoint"] = str(ckpt)

    if info.main:
        resolved = {"preset": preset, "model": model_cfg.to_dict(), "training": tcfg.model_dump()}
        (run_dir / "resolved.json").write_bytes(orjson.dumps(resolved, option=orjson.OPT_INDENT_2))
        status = {"status": "running", "pid": os.getpid(), "max_steps": tcfg.max_steps}
        if not resume:
            status.update(
                created=time.time(),
                preset=preset,
                data=str(path),
                params=model.num_params(),
                world_size=info.world,
                step=0,
                tokens_seen=0,
                best_val_loss=None,
                best_step=None,
            )
        write_status(run_dir, **status)
    return Run(run_dir, cfg, tcfg, preset, tok, data, model_cfg, model, optimizer, info, state)
