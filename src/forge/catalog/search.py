"""The search behind `forge plan`: the largest model, method and settings that fit.

The search is plain and deterministic:
1. The task: chat/instruction fine-tuning, text (continued pretraining), or from scratch,
   from --goal, --method and the data's format.
2. Candidates: catalog models for the task (newest first among models of the same size),
   largest first, then the forge GPT presets (presets first for plain text without a CUDA
   GPU; no pretrained model above MAX_PARAMS without one). Or just the model given with
   --model.
3. For each candidate, methods in order full -> LoRA -> QLoRA (QLoRA needs CUDA), and for
   each: the longest sequence length the data wants (p95 of row lengths, rounded up to a
   power of two, at most the model's context), the largest micro-batch (16 down to 1),
   first without and then with gradient checkpointing, until the memory estimate fits.
   Shorter sequences (down to the median row) are tried before giving up on a method.
4. It must also finish in time: the estimated hours for the planned epochs (or a preset's
   steps) must be within --hours.
The first candidate that passes is the plan; the bigger ones that failed say why.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from forge.catalog.compute import training_hours
from forge.catalog.lookup import all_models, presets
from forge.catalog.memory import GIB, MemoryEstimate, estimate
from forge.catalog.sample import DataSample
from forge.catalog.spec import ModelSpec
from forge.hardware import Hardware

GLOBAL_BATCH = 16  # sequences per optimizer step for fine-tuning (a common SFT setting)
MICRO_BATCHES = (16, 8, 4, 2, 1)
DEFAULT_HOURS = 12.0  # an overnight run
NOMINAL_ROWS, NOMINAL_TOKENS = 1000, 512  # assumed when no data is given
# Largest pretrained model worth fine-tuning without a CUDA GPU: fp32 training on CPU cores
# (or a laptop GPU through MPS) is slow enough that bigger models fit in memory long before
# they fit in a working day, and the time estimate is least certain there.
MAX_PARAMS = {"cpu": 400e6, "mps": 3.5e9}
SCRATCH_WORDS = ("from scratch", "pretrain", "pre-train", "scratch")
CHAT_WORDS = ("chat", "assistant", "instruct", "conversation", "dialog", "answer", "support")


@dataclass(frozen=True)
class Choice:
    spec: ModelSpec
    method: str
    batch_size: int
    gradient_accumulation: int
    seq_len: int
    gradient_checkpointing: bool
    precision: str
    estimate: MemoryEstimate
    hours: float
    epochs: float
    max_steps: int
    lr: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.spec.requested or self.spec.id,
            "catalog_id": self.spec.id,
            "params": self.spec.params,
            "method": self.method,
            "batch_size": self.batch_size,
            "gradient_accumulation": self.gradient_accumulation,
            "seq_len": self.seq_len,
            "gradient_checkpointing": self.gradient_checkpointing,
            "precision": self.precision,
            "memory_gib": self.estimate.breakdown_gib(),
            "hours": round(self.hours, 2),
            "epochs": self.epochs,
            "max_steps": self.max_steps,
            "lr": self.lr,
        }


@dataclass
class Rejection:
    model: str
    method: str
    reason: str
    needs_gib: float | None = None


@dataclass
class Plan:
    hardware: Hardware
    data: DataSample | None
    task: str
    budget_bytes: int
    hours_budget: float
    choice: Choice
    rejected: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    forced_model: bool = False  # the model was given with --model

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "hardware": self.hardware.to_dict(),
            "data": self.data.to_dict() if self.data else None,
            "memory_budget_gib": round(self.budget_gib, 2),
            "hours_budget": self.hours_budget,
            "choice": self.choice.to_dict(),
            "rejected": [vars(r) for r in self.rejected],
            "notes": self.notes,
        }

    @property
    def budget_gib(self) -> float:
        return self.budget_bytes / GIB


# ------------------------------------------------------------------------------ the machine


def memory_budget(hw: Hardware) -> int:
    """Bytes one training process may plan to use.

    GPU: 95% of the smallest GPU (the estimate already adds the CUDA context and allocator
    slack). Apple MPS: 65% of RAM (macOS lets the GPU wire about two thirds of unified memory).
    CPU: 70% of total RAM, leaving room for the OS and data loading; total rather than
    available memory keeps the plan the same from one run to the next.
    """
    if hw.device == "cuda" and hw.gpus:
        return int(hw.vram_gb * 0.95 * GIB)
    if hw.device == "mps":
        return int(hw.ram_total_gb * 0.65 * GIB)
    return int(hw.ram_total_gb * 0.70 * GIB)


def precision_for(hw: Hardware) -> str:
    if hw.device == "cuda" and hw.gpus:
        return "bf16" if hw.bf16 else "fp16"
    return "fp16" if hw.device == "mps" else "fp32"


# ------------------------------------------------------------------------------ the task


def task_of(goal: str | None, data: DataSample | None, method: str | None) -> str:
    """`scratch`, `chat` (chat or instruction data) or `text` (continued pretraining)."""
    g = (goal or "").lower()
    if method == "scratch" or any(w in g for w in SCRATCH_WORDS):
        return "scratch"
    if data is not None and data.kind in ("chat", "instruction"):
        return "chat"
    if data is not None and data.kind == "text" and not any(w in g for w in CHAT_WORDS):
        return "text"
    return "chat"


def _size_key(spec: ModelSpec) -> tuple:
    """Largest first; models within ~5% of each other count as one size, newest first."""
    bucket = round(math.log(max(spec.params, 1)) / math.log(1.05))
    return (-bucket, tuple(-int(x) for x in re.findall(r"\d+", spec.released or "0")))


def candidates(task: str, hw: Hardware) -> list[ModelSpec]:
    if task == "scratch":
        return sorted(presets(), key=lambda s: -s.params)
    if task == "chat":
        pool = [m for m in all_models() if m.auto and not m.base and m.template]
    else:
        pool = [m for m in all_models() if m.auto and m.base]
    limit = MAX_PARAMS.get(hw.device)
    if limit:
        pool = [m for m in pool if m.params <= limit]
    models = sorted(pool, key=_size_key)
    own = sorted(presets(), key=lambda s: -s.params)
    if task == "text" and hw.device != "cuda":
        # Plain text without a CUDA GPU: a small GPT trained from scratch learns the style of
        # a corpus in hours, where fine-tuning even a tiny pretrained model takes a day.
        return own + models
    # Presets last: what a CPU can still train when no pretrained model fits in time.
    return models + own


def methods_for(spec: ModelSpec, hw: Hardware, method: str | None) -> list[str]:
    if spec.is_preset:  # presets train from scratch only
        return ["scratch"] if method in (None, "scratch") else []
    if method:
        return [method]
    return ["full", "lora", "qlora"] if hw.device == "cuda" and hw.gpus else ["full", "lora"]


# ------------------------------------------------------------------------------ the search


def _pow2_at_least(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(max(n, 1))))


def seq_lengths(
    spec: ModelSpec, data: DataSample | None, max_length: int | None, task: str = "chat"
) -> list[int]:
    """Sequence lengths to try, longest first. Chat rows should fit whole (p95); text is cut
    into chunks anyway, so 2048 tokens is plenty of context to learn from."""
    if spec.is_preset:
        return [spec.context_length]
    ctx = spec.context_length
    if max_length:
        return [min(max_length, ctx)]
    p95 = data.tokens["p95"] if data else NOMINAL_TOKENS
    p50 = data.tokens["p50"] if data else NOMINAL_TOKENS
    top = min(_pow2_at_least(max(p95, 256)), ctx, 2048 if task == "text" else 8192)
    floor = min(_pow2_at_least(max(p50, 256)), top)
    out = [top]
    while out[-1] // 2 >= floor:
        out.append(out[-1] // 2)
    return out


def fit(
    spec: ModelSpec,
    method: str,
    hw: Hardware,
    budget: int,
    seqs: list[int],
    precision: str,
) -> tuple[MemoryEstimate | None, MemoryEstimate]:
    """(the estimate that fits or None, the smallest estimate tried)."""
    smallest = None
    batches = MICRO_BATCHES
    if spec.is_preset:
        b0 = int(spec.preset.get("training", {}).get("batch_size", 16))
        batches = tuple(sorted({b0 >> i for i in range(8) if b0 >> i >= 1}, reverse=True))
    dropout = bool(spec.preset and spec.preset["model"].get("dropout"))
    for seq in seqs:
        for gc in (False,) if spec.is_preset else (False, True):
            for b in batches:
                est = estimate(
                    spec, method, b, seq, precision=precision, gradient_checkpointing=gc,
                    dropout=dropout,
                )  # fmt: skip
                if est.total <= budget:
                    return est, est
                if smallest is None or est.total < smallest.total:
                    smallest = est
    assert smallest is not None
    return None, smallest


def _fmt_hours(h: float) -> str:
    return f"{h / 24:,.0f} days" if h >= 48 else f"{h:.1f} h"


def _epochs(rows: int) -> float:
    """Small instruction sets are seen a few times; large ones once (common SFT practice)."""
    return 3.0 if rows < 10_000 else 2.0 if rows < 100_000 else 1.0


def _lr(spec: ModelSpec, method: str) -> float | None:
    if method == "scratch" and spec.is_preset:
        return None  # the preset's own
    if method in ("full", "scratch"):
        return 2e-5 if spec.params < 10e9 else 1e-5
    # QLoRA paper: 2e-4 up to 13B, 1e-4 for 33B and 65B.
    return 2e-4 if spec.params < 20e9 else 1e-4


def schedule(
    spec: ModelSpec,
    est: MemoryEstimate,
    hw: Hardware,
    data: DataSample | None,
    hours_budget: float,
    forced: bool,
    task: str = "chat",
) -> tuple[Choice | None, str | None]:
    """Batch, steps and time for a fitting estimate; (None, why) when it takes too long."""
    n_dev = max(len(hw.gpus), 1) if hw.device == "cuda" else 1
    b, seq, method = est.batch_size, est.seq_len, est.method
    if spec.is_preset:
        t = spec.preset.get("training", {})
        global_seqs = int(t.get("batch_size", b)) * int(t.get("gradient_accumulation", 1))
        accum = max(1, math.ceil(global_seqs / (b * n_dev)))
        steps = int(t.get("max_steps", 5000))
        tokens_per_step = b * accum * n_dev * seq
        hours = training_hours(spec, method, steps * tokens_per_step, seq, hw)
        if hours > hours_budget and not forced:
            # A preset's max_steps is its full schedule; a shorter run is still worth it when
            # it sees a quarter of that schedule or ~20 tokens per parameter (the
            # compute-optimal ratio of Hoffmann et al. 2022, "Chinchilla").
            fitting = int(steps * hours_budget / hours)
            enough = min(steps // 4, math.ceil(20 * spec.params / tokens_per_step))
            if fitting < max(100, enough):
                return (
                    None,
                    f"{steps} steps take about {_fmt_hours(hours)} (budget {hours_budget:g} h)",
                )
            hours, steps = hours * fitting / steps, fitting
        return Choice(spec, method, b, accum, seq, False, est.precision, est, hours, 1.0, steps,
                      None), None  # fmt: skip
    rows = data.rows if data else NOMINAL_ROWS
    row_tokens = data.total_tokens / max(data.rows, 1) if data else NOMINAL_TOKENS
    if task == "text":  # continued pretraining: every token once, in chunks of seq
        epochs, tokens = 1.0, rows * row_tokens
        rows = max(1, math.ceil(tokens / seq))
    else:  # one row per sequence; longer rows are cut to seq
        epochs = _epochs(rows)
        tokens = rows * min(row_tokens, seq) * epochs
    gc = est.gradient_checkpointing
    hours = training_hours(spec, method, tokens, seq, hw, gc)
    if hours > hours_budget and not forced:
        fitting = math.floor(epochs * hours_budget / hours)
        if task == "text" or fitting < 1:
            return (
                None,
                f"{epochs:g} epochs take about {_fmt_hours(hours)} (budget {hours_budget:g} h)",
            )
        hours, epochs = hours * fitting / epochs, float(fitting)  # fewer passes over the data
    accum = max(1, math.ceil(GLOBAL_BATCH / (b * n_dev)))
    steps = max(1, math.ceil(rows * epochs / (b * accum * n_dev)))
    return Choice(spec, method, b, accum, seq, gc, est.precision, est, hours, epochs, steps,
                  _lr(spec, method)), None  # fmt: skip


def search(
    hw: Hardware,
    data: DataSample | None,
    task: str,
    specs: list[ModelSpec],
    method: str | None,
    max_length: int | None,
    hours_budget: float,
    forced: bool = False,
) -> tuple[Choice | None, list[Rejection]]:
    budget = memory_budget(hw)
    precision = precision_for(hw)
    rejected: list[Rejection] = []
    for spec in specs:
        seqs = seq_lengths(spec, data, max_length, task)
        for m in methods_for(spec, hw, method):
            if m == "qlora" and not (hw.device == "cuda" and hw.gpus):
                rejected.append(Rejection(spec.id, m, "QLoRA needs an NVIDIA GPU (bitsandbytes)"))
                continue
            est, smallest = fit(spec, m, hw, budget, seqs, precision)
            if est is None:
                rejected.append(
                    Rejection(
                        spec.id, m,
                        f"needs {smallest.total_gib:.1f} GiB even at batch 1, "
                        f"sequence {smallest.seq_len}"
                        + (", gradient checkpointing" if smallest.gradient_checkpointing else ""),
                        smallest.total_gib,
                    )
                )  # fmt: skip
                continue
            choice, why = schedule(spec, est, hw, data, hours_budget, forced, task)
            if choice is None:
                rejected.append(Rejection(spec.id, m, f"fits in memory but {why}"))
                continue  # LoRA skips weight gradients: a lighter method may be fast enough
            return choice, rejected
    return None, rejected
