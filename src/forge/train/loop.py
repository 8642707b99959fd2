"""The training loop: one readable loop over a model that maps (inputs, targets) to
(logits, loss).

Per optimizer step: set the learning rate from a plain function of the step; run
``gradient_accumulation`` micro-batches (DDP syncs gradients on the last one only); clip;
step; log. Every ``eval_interval`` steps: validation loss, best checkpoint, early stopping,
the loss plot. Every ``checkpoint_interval`` steps: a checkpoint holding everything needed to
continue exactly where it left off.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from typing import Any

import psutil
import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from forge.config import ForgeConfig
from forge.registry import get
from forge.track.console import ConsoleReporter
from forge.track.plots import plot_runs
from forge.track.sinks import Trackers, make_trackers, read_metrics, truncate_metrics
from forge.train import dist
from forge.train.builder import Run, build
from forge.train.checkpoint import prune, rng_state, save_checkpoint
from forge.train.evaluate import evaluate
from forge.train.generate import generate_text
from forge.train.runs import write_status
from forge.train.tokenizer import is_char_level

SAMPLE_BUDGET = 0.05  # samples may take at most this share of wall time


@dataclass
class TrainResult:
    run_dir: str
    status: str
    step: int
    best_val_loss: float | None
    best_step: int | None
    last_val: dict[str, float] | None
    tokens_seen: int
    train_seconds: float
    tokens_per_sec: float


def precision_context(precision: str, device: str):
    """(autocast context, grad scaler) for the chosen precision on this device."""
    if not device.startswith("cuda"):
        return contextlib.nullcontext(), torch.amp.GradScaler("cpu", enabled=False)
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision == "fp32":
        return contextlib.nullcontext(), torch.amp.GradScaler("cuda", enabled=False)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    # fp16 needs loss scaling to keep small gradients from flushing to zero; bf16 does not.
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")
    return torch.autocast("cuda", dtype=dtype), scaler


def default_threads() -> int:
    """The physical cores that are idle now, shared among this machine's ranks.

    Hyper-threads only add contention for matmuls. And OpenMP threads spin at every barrier:
    on a core that other processes keep busy, an extra thread waits more than it works (on a
    2-core machine under load 12, two threads ran 3.6x slower than one)."""
    cores = psutil.cpu_count(logical=False) or os.cpu_count() or 1
    cores //= max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(1, min(cores, int(cores - busy + 0.5)))


def set_threads(n: int | None) -> int:
    torch.set_num_threads(n or default_threads())
    return torch.get_num_threads()


def train(
    cfg: ForgeConfig,
    resume: str | None = None,
    max_steps: int | None = None,
    console: ConsoleReporter | None = None,
) -> TrainResult:
    """Train (or resume) a run; returns where it ended. ``console`` shows progress."""
    info = dist.setup(cfg.hardware.device)
    # Late in training, AdamW's second moments and many gradients fall into float32's
    # subnormal range, where x86 CPUs take a slow path: without flushing them to zero the
    # baby Shakespeare run dropped from ~21k to ~16.8k tokens/s after step 500 on 2 cores.
    # The flag is process-wide CPU state (Python floats feel it too): restored on the way out.
    torch.set_flush_denormal(True)
    try:
        set_threads(cfg.training.num_threads)
        run = build(cfg, resume, info, max_steps)
        if run.state.get("threads") and not run.tcfg.num_threads:
            # the thread count sets the order of floating-point sums: keep the run's own so a
            # resumed run stays bit-identical to an uninterrupted one
            torch.set_num_threads(run.state["threads"])
        try:
            return _loop(run, console or ConsoleReporter(enabled=False))
        except BaseException as e:
            if info.main:  # a crash or Ctrl-C is recorded; the last checkpoint stays resumable
                failed = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
                write_status(run.dir, status=failed, error=repr(e)[:500])
            raise
    finally:
        torch.set_flush_denormal(False)
        dist.teardown(info)


def _loop(run: Run, console: ConsoleReporter) -> TrainResult:
    t, info, data = run.tcfg, run.info, run.data
    B, T, accum = t.batch_size, run.model_cfg.block_size, t.gradient_accumulation
    tokens_per_step = B * T * accum * info.world
    autocast, scaler = precision_context(t.precision, info.device)
    st = run.state
    step = st.get("step", 0)
    best_val, best_step = st.get("best_val"), st.get("best_step")
    bad_evals, elapsed = st.get("bad_evals", 0), st.get("elapsed", 0.0)
    if "scaler" in st:
        scaler.load_state_dict(st["scaler"])
    char_level = is_char_level(run.tokenizer)
    schedule = get("scheduler", t.scheduler)

    raw_model = run.model
    model: torch.nn.Module = raw_model
    if info.ddp:
        model = DDP(model, device_ids=[info.local_rank] if info.device.startswith("cuda") else None)
    if t.compile:  # after DDP, so the compiler sees DDP's bucketed all-reduces
        model = torch.compile(model)
    params = [p for p in raw_model.parameters() if p.requires_grad]
    flops_per_token = raw_model.flops_per_token(T)
    peak = (
        dist.gpu_peak_flops(torch.cuda.get_device_name(info.device))
        if info.device.startswith("cuda")
        else None
    )

    trackers = Trackers([])
    if info.main:
        if resume_step := st.get("step"):
            truncate_metrics(run.dir, resume_step)
        hyper = {"preset": run.preset, **run.model_cfg.to_dict(), **t.model_dump(exclude={"gpt"})}
        trackers = make_trackers(run.cfg.tracking, run.dir, hyper)
        note = f" (resumed from step {step})" if step else ""
        if data.note:
            console.message(data.note)
        console.message(
            f"run {run.dir}: {raw_model.num_params():,} parameters, {data.train.tokens:,} train "
            f"tokens, {tokens_per_step:,} tokens/step, device {info.device} x{info.world}"
            + (f" ({torch.get_num_threads()} threads)" if info.device == "cpu" else "")
            + note
        )
        console.start(t.max_steps, step, run.dir.name)

    status = "finished"
    last_val: dict[str, float] | None = st.get("last_val")
    sample_time = 0.0
    t_start = time.perf_counter() - elapsed
    model.train()
    while step < t.max_steps:
        t0 = time.perf_counter()
        lr = schedule(step, t.lr, t.min_lr, t.warmup_steps, t.max_steps)
        for group in run.optimizer.param_groups:
            group["lr"] = lr
        loss_sum = torch.zeros((), device=info.device)
        for micro in range(accum):
            x, y = data.batch(
                "train", t.seed, step, B, T, micro, info.rank, info.world, accum, info.device
            )
            # DDP all-reduces gradients on every backward; only the last micro-batch needs it.
            sync = micro == accum - 1 or not info.ddp
            with contextlib.nullcontext() if sync else model.no_sync(), autocast:
                _, loss = model(x, y)
                loss = loss / accum
            scaler.scale(loss).backward()
            loss_sum += loss.detach()
        if t.grad_clip > 0:
            scaler.unscale_(run.optimizer)
            grad_norm = torch.nn.utils.clip_grad_norm_(params, t.grad_clip)
        else:
            grad_norm = torch.linalg.vector_norm(
                torch.stack([p.grad.norm() for p in params if p.grad is not None])
            )
        scaler.step(run.optimizer)
        scaler.update()
        run.optimizer.zero_grad(set_to_none=True)
        step += 1

        loss_val = float(dist.mean(loss_sum, info))  # the one sync per step
        dt = time.perf_counter() - t0
        metrics: dict[str, Any] = {
            "loss": loss_val,
            "lr": lr,
            "grad_norm": float(grad_norm),
            "tokens_per_sec": tokens_per_step / dt,
            "tokens_seen": step * tokens_per_step,
            "time": time.perf_counter() - t_start,
        }
        if peak:  # model FLOPs utilization: achieved training FLOP/s over the GPU's peak
            metrics["mfu"] = flops_per_token * tokens_per_step / dt / (peak * info.world)
        if info.main:
            trackers.log(metrics, step)
            console.log(metrics, step)

        last = step == t.max_steps
        improved = False
        if step % t.eval_interval == 0 or last:
            val = evaluate(
                raw_model, data, "validation", t.eval_batches, B, T, t.seed, info, autocast,
                char_level,
            )  # fmt: skip
            last_val = val
            if best_val is None or val["loss"] < best_val:
                best_val, best_step, bad_evals, improved = val["loss"], step, 0, True
            else:
                bad_evals += 1
            if info.main:
                trackers.log({f"val/{k}": v for k, v in val.items()}, step)
                trackers.flush()
                console.message(
                    f"step {step}: val loss {val['loss']:.4f} ppl {val['perplexity']:.2f}"
                    + (f" best {best_val:.4f} @ {best_step}" if not improved else " (best)")
                )
                if run.cfg.tracking.plot:
                    plot_runs({run.dir.name: read_metrics(run.dir)}, run.dir / "loss.png")
            if t.patience and bad_evals >= t.patience:
                status, last = "stopped_early", True

        if info.main and t.sample_interval and step % t.sample_interval == 0:
            spent = time.perf_counter() - t_start
            if sample_time <= SAMPLE_BUDGET * spent:
                s0 = time.perf_counter()
                for i, prompt in enumerate(t.sample_prompts):
                    text = generate_text(
                        raw_model, run.tokenizer, prompt, max_new_tokens=t.sample_tokens,
                        temperature=0.8, top_k=50, seed=t.seed + i,
                    )  # fmt: skip
                    trackers.log_text(f"prompt{i}", prompt + text, step)
                    console.log_text(f"prompt{i}", prompt + text, step)
                sample_time += time.perf_counter() - s0

        if step % t.checkpoint_interval == 0 or last or improved:
            state = {
                "step": step,
                "optimizer": run.optimizer.state_dict(),
                "scaler": scaler.state_dict(),
                "rng": dist.gather_objects(rng_state(), info),
                "sampler": {"seed": t.seed, "next_step": step},
                "best_val": best_val,
                "best_step": best_step,
                "bad_evals": bad_evals,
                "last_val": last_val,
                "elapsed": time.perf_counter() - t_start,
                "threads": torch.get_num_threads(),
            }
            if info.main:
                meta = {"model": run.model_cfg.to_dict(), "model_type": t.model_type,
                        "val": last_val, "preset": run.preset}  # fmt: skip
                trackers.flush()
                save_checkpoint(run.dir, step, raw_model, run.tokenizer, state, meta)
                prune(run.dir, t.keep_last, best_step)
                write_status(
                    run.dir, step=step, tokens_seen=step * tokens_per_step,
                    best_val_loss=best_val, best_step=best_step, last_val=last_val,
                )  # fmt: skip
            dist.barrier(info)
        if last:
            break

    total = time.perf_counter() - t_start
    if info.main:
        console.close()
        trackers.log({"sample_time_share": sample_time / max(total, 1e-9)}, step)
        trackers.close()
        write_status(
            run.dir, status=status, step=step, tokens_seen=step * tokens_per_step,
            best_val_loss=best_val, best_step=best_step, last_val=last_val, train_seconds=total,
        )  # fmt: skip
    return TrainResult(
        str(run.dir), status, step, best_val, best_step, last_val, step * tokens_per_step,
        total, step * tokens_per_step / max(total, 1e-9),
    )  # fmt: skip
