"""`plan:` what `forge plan` decided and assumed. People read it; `forge train` reads the
settings the memory estimate depends on (gradient checkpointing, precision, LoRA rank)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from forge.config.base import Section


class PlanConfig(Section):
    goal: str | None = Field(None, description="The goal given to `forge plan --goal`.")
    hardware: str | None = Field(None, description="The machine the plan was made for.")
    precision: Literal["auto", "bf16", "fp16", "fp32"] = Field(
        "auto",
        description="Compute precision: bf16/fp16 mixed precision on GPUs (bf16 from compute "
        "capability 8.0), fp32 on CPUs. `auto` chooses by device.",
    )
    gradient_checkpointing: bool = Field(
        False, description="Recompute activations in the backward pass to save memory."
    )
    lora_rank: int = Field(16, gt=0, description="LoRA rank r (LoRA and QLoRA).")
    lora_alpha: int = Field(32, gt=0, description="LoRA scaling alpha (LoRA and QLoRA).")
    epochs: float | None = Field(None, gt=0, description="Passes over the data the plan assumed.")
    estimated_memory_gb: float | None = Field(
        None, ge=0, description="Estimated peak memory per device in GiB."
    )
    memory_budget_gb: float | None = Field(
        None, ge=0, description="Memory the plan allowed per device in GiB."
    )
    estimated_hours: float | None = Field(
        None, ge=0, description="Estimated training time in hours."
    )
    data_rows: int | None = Field(None, ge=0, description="Rows found in the data.")
    data_tokens: int | None = Field(
        None, ge=0, description="Tokens in the data (an estimate unless a tokenizer was used)."
    )
    why: str | None = Field(None, description="Why the plan chose this model and settings.")
