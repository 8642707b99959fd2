"""`forge plan`: goal + data + hardware -> forge.yaml with the largest model that fits.

`make_plan` gathers the inputs (hardware detected or described as data, a sample of the
data) and runs the search in `forge.catalog.search`; `plan_config` turns the result into a
ForgeConfig and `explain` into the paragraph people read.
"""

from __future__ import annotations

import math
from typing import Any

from forge.catalog.lookup import find
from forge.catalog.sample import DataSample
from forge.catalog.search import (
    DEFAULT_HOURS,
    Plan,
    Rejection,
    candidates,
    fit,
    memory_budget,
    methods_for,
    precision_for,
    search,
    seq_lengths,
    task_of,
)
from forge.catalog.search import (
    _fmt_hours as fmt_hours,
)
from forge.catalog.spec import ModelSpec
from forge.hardware import Hardware


def _hardware(hardware: Any) -> Hardware:
    from forge.config.hardware import HardwareConfig
    from forge.hardware import effective_hardware

    if isinstance(hardware, Hardware):
        return hardware
    if isinstance(hardware, dict):
        hardware = HardwareConfig.model_validate(hardware)
    return effective_hardware(hardware)


def make_plan(
    goal: str | None = None,
    data: list[str] | DataSample | None = None,
    model: str | None = None,
    method: str | None = None,
    hardware: Hardware | Any = None,
    max_length: int | None = None,
    hours: float = DEFAULT_HOURS,
    tokenizer: str | None = None,
) -> Plan:
    """Plan a training run. ``hardware``: a Hardware, a `hardware:` section (HardwareConfig or
    dict) describing a machine, or None to detect this one. ForgeError when ``model`` cannot
    be trained here (with what to change)."""
    from forge.catalog.sample import sample_data
    from forge.errors import ForgeError

    hw = _hardware(hardware)
    if hw.device == "cuda" and not hw.gpus:
        raise ForgeError(
            "hardware.device is cuda but no GPU was found or described",
            "set hardware.gpus in forge.yaml (or --hardware), or use device: auto",
        )
    sample = sample_data(data, tokenizer=tokenizer) if isinstance(data, list) and data else None
    if isinstance(data, DataSample):
        sample = data
    task = task_of(goal, sample, method)
    if method == "qlora" and not (hw.device == "cuda" and hw.gpus):
        raise ForgeError(
            "QLoRA needs an NVIDIA GPU (4-bit kernels from bitsandbytes)",
            "use --method lora or full on this machine",
        )
    notes: list[str] = []
    if model:
        spec = find(model)
        if not spec.params or not spec.n_layers:
            raise ForgeError(
                f"cannot size {spec.id}: its config.json does not give the layers and widths",
                "give a folder with the model's config.json, or a catalog name",
            )
        if spec.is_preset and method not in (None, "scratch"):
            raise ForgeError(
                f"{spec.id} is a forge GPT preset: it trains from scratch only",
                "drop --method, or give a pretrained model to fine-tune",
            )
        choice, rejected = search(hw, sample, task, [spec], method, max_length, hours, True)
        if choice is None:
            raise ForgeError(
                f"{spec.id} does not fit on this machine: "
                + "; ".join(f"{r.method}: {r.reason}" for r in rejected),
                _what_to_change(spec, hw, sample, task, method, max_length, hours, rejected),
            )
        if choice.hours > hours:
            notes.append(
                f"{spec.id} takes about {fmt_hours(choice.hours)} here, more than --hours {hours:g}."
            )
        return Plan(hw, sample, task, memory_budget(hw), hours, choice, rejected, notes, True)
    choice, rejected = search(hw, sample, task, candidates(task, hw), method, max_length, hours)
    if choice is None:
        raise ForgeError(
            f"nothing in the catalog can be trained on this machine within {hours:g} h"
            + (f" with --method {method}" if method else ""),
            "give a larger --hours, less data, or a machine with more memory",
        )
    return Plan(hw, sample, task, memory_budget(hw), hours, choice, rejected, notes)


def _what_to_change(
    spec: ModelSpec,
    hw: Hardware,
    data: DataSample | None,
    task: str,
    method: str | None,
    max_length: int | None,
    hours: float,
    rejected: list[Rejection],
) -> str:
    tips = []
    budget, precision = memory_budget(hw), precision_for(hw)
    if method and not spec.is_preset:
        for other in methods_for(spec, hw, None):
            if other == method:
                continue
            est, _ = fit(
                spec, other, hw, budget, seq_lengths(spec, data, max_length, task), precision
            )
            if est is not None:
                tips.append(f"--method {other} fits ({est.total_gib:.1f} GiB)")
                break
    if not spec.is_preset:
        for seq in (1024, 512, 256):
            if seq >= min(seq_lengths(spec, data, max_length, task)):
                continue
            ms = [method] if method else methods_for(spec, hw, None)
            hit = next(
                (e for m in ms if (e := fit(spec, m, hw, budget, [seq], precision)[0]) is not None),
                None,
            )
            if hit is not None:
                tips.append(f"--max-length {seq} fits with {hit.method} ({hit.total_gib:.1f} GiB)")
                break
    smaller, _ = search(hw, data, task, candidates(task, hw), method, max_length, hours)
    if smaller is not None:
        tips.append(f"a smaller model fits: {smaller.spec.id} with {smaller.method}")
    needs = min((r.needs_gib for r in rejected if r.needs_gib), default=None)
    if needs and hw.device == "cuda":
        tips.append(f"a GPU with at least {math.ceil(needs / 0.95)} GiB")
    elif needs:
        tips.append(f"a machine with at least {math.ceil(needs / 0.70)} GiB of RAM")
        if not spec.is_preset:  # what a CUDA GPU would need with QLoRA in bf16
            q = fit(spec, "qlora", hw, 0, [min(seq_lengths(spec, data, max_length, task))], "bf16")
            tips.append(
                f"an NVIDIA GPU with at least {math.ceil(q[1].total_gib / 0.95)} GiB (QLoRA)"
            )
    return "; or ".join(tips) if tips else "choose a smaller model"


# ------------------------------------------------------------------------------ the output


def _human(n: float) -> str:
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= div:
            return f"{n / div:.1f}{unit}"
    return f"{n:.0f}"


METHOD_NAMES = {
    "full": "a full fine-tune",
    "lora": "LoRA",
    "qlora": "QLoRA (4-bit base)",
    "scratch": "training from scratch",
}


def char_level(plan: Plan) -> bool:
    spec = plan.choice.spec
    return bool(spec.is_preset and spec.preset["model"].get("vocab") == "char")


def data_tokens(plan: Plan) -> tuple[int, int, int, str]:
    """(total, p50, p95 per row, how they were counted) in the chosen model's tokens: a
    character-level model has one token per character, whatever the sample estimated."""
    d = plan.data
    assert d is not None
    if char_level(plan):
        return int(d.total_chars), d.chars["p50"], d.chars["p95"], " (one per character)"
    how = "" if d.token_method == "tokenizer.json" else " (estimated from bytes)"
    return d.total_tokens, d.tokens["p50"], d.tokens["p95"], how


def explain(plan: Plan) -> str:
    """One paragraph: the machine, the data, the pick and why, and what did not fit."""
    hw, c, d = plan.hardware, plan.choice, plan.data
    est = c.estimate
    parts = [f"This machine trains on {hw.device.upper()} ({hw.describe()})."]
    if d is not None:
        total, p50, p95, how = data_tokens(plan)
        parts.append(
            f"The data is {d.kind} ({', '.join(d.formats) or 'unknown format'}): "
            f"{d.rows:,} rows, about {_human(total)} tokens{how}, "
            f"median {p50} and p95 {p95} tokens per row."
        )
    else:
        parts.append("No data was given, so the plan assumes about 1,000 rows of 512 tokens.")
    gc = ", with gradient checkpointing" if c.gradient_checkpointing else ""
    parts.append(
        f"{c.spec.id} with {METHOD_NAMES[c.method]} is the "
        + ("model you asked for" if plan.forced_model else "largest that fits")
        + f": at micro-batch {c.batch_size} x {c.seq_len} tokens{gc} in {c.precision} it needs "
        f"about {est.total_gib:.1f} GiB of the {plan.budget_gib:.1f} GiB allowed (weights "
        f"{est.gib(est.weights):.1f}, gradients and optimizer "
        f"{est.gib(est.gradients + est.optimizer):.1f}, activations "
        f"{est.gib(est.activations):.1f}), and "
        + (
            f"{c.max_steps:,} steps take about {fmt_hours(c.hours)}."
            if c.method == "scratch"
            else f"{c.epochs:g} epoch{'s' if c.epochs != 1 else ''} take about {fmt_hours(c.hours)}."
        )
    )
    # documents (kind text) are packed into one token stream: nothing is cut
    if c.seq_len and d is not None and d.kind != "text" and c.seq_len < data_tokens(plan)[2]:
        parts.append(f"Rows longer than {c.seq_len} tokens will be cut or dropped.")
    # The models just above the pick say most about what would not fit: for each, the
    # lightest method that was tried (the last rejection of that model).
    lightest: dict[str, Rejection] = {}
    for r in plan.rejected:
        if r.model != c.spec.id:
            lightest[r.model] = r
    bigger = list(lightest.values())[-3:][::-1]
    same = [r for r in plan.rejected if r.model == c.spec.id][:2]
    if bigger:
        parts.append(
            "Did not fit: " + "; ".join(f"{r.model} ({r.method}: {r.reason})" for r in bigger) + "."
        )
    if same:
        parts.append("Not chosen: " + "; ".join(f"{r.method} ({r.reason})" for r in same) + ".")
    parts += plan.notes
    return " ".join(parts)


def dataset_name(path: str) -> str:
    """A folder-friendly name for the data: the file's stem, or for a glob (`src/**/*.py`)
    the last folder before the first wildcard."""
    from pathlib import PurePath

    from forge.data.read import COMPRESSIONS

    parts = PurePath(path.rstrip("/")).parts
    wild = next((i for i, p in enumerate(parts) if any(c in p for c in "*?[")), None)
    if wild is not None:
        parts = parts[:wild]
        stem = parts[-1] if parts and parts[-1] not in ("/", ".", "..") else "dataset"
    else:
        name = PurePath(path.rstrip("/")).name
        for comp in COMPRESSIONS:  # what prepare decompresses: train.jsonl.gz -> train
            name = name.removesuffix(comp)
        stem = PurePath(name).stem or "dataset"
    return (
        "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in stem).strip(".") or "dataset"
    )


def plan_config(
    plan: Plan,
    data_paths: list[str] | None = None,
    goal: str | None = None,
    hardware_section: dict | None = None,
    seed: int = 0,
) -> Any:
    """The forge.yaml for a plan: only what the plan decided is set (the rest stays default)."""
    from forge.config import ForgeConfig

    c = plan.choice
    spec = c.spec
    model: dict[str, Any] = {
        "name": spec.path or spec.requested or spec.id,
        "max_length": c.seq_len,
    }
    if not spec.is_preset and not spec.path:
        model["family"] = spec.family
    if spec.is_preset and spec.preset["model"].get("vocab") in ("char", "bpe"):
        model["tokenizer"] = spec.preset["model"]["vocab"]  # trained on the data (docs/train.md)
    if spec.template is None and plan.task == "chat" and not spec.extra.get("has_chat_template"):
        model["chat_template"] = "chatml"  # a model without a template of its own learns ChatML
    training: dict[str, Any] = {
        "method": c.method,
        "batch_size": c.batch_size,
        "gradient_accumulation": c.gradient_accumulation,
        "max_steps": c.max_steps,
        "seed": seed,
    }
    if c.lr is not None:
        training["lr"] = c.lr
    data: dict[str, Any] = {}
    if data_paths:
        stem = dataset_name(data_paths[0])
        data = {
            "name": stem,
            "sources": [{"path": p} for p in data_paths],
        }
    raw: dict[str, Any] = {"version": 1, "model": model}
    if hardware_section:
        raw["hardware"] = hardware_section
    if data:
        raw["data"] = data
    if c.method == "scratch" or plan.task == "text":
        raw["preprocessing"] = {"packing": {"enabled": True}}
    raw["training"] = training
    raw["plan"] = {
        "goal": goal,
        "hardware": plan.hardware.describe(),
        "precision": c.precision,
        "gradient_checkpointing": c.gradient_checkpointing,
        **({"lora_rank": 16, "lora_alpha": 32} if c.method in ("lora", "qlora") else {}),
        "epochs": c.epochs,
        "estimated_memory_gb": round(c.estimate.total_gib, 2),
        "memory_budget_gb": round(plan.budget_gib, 2),
        "estimated_hours": round(c.hours, 2),
        "data_rows": plan.data.rows if plan.data else None,
        "data_tokens": data_tokens(plan)[0] if plan.data else None,
        "why": explain(plan),
    }
    raw["plan"] = {k: v for k, v in raw["plan"].items() if v is not None}
    return ForgeConfig.model_validate(raw)
