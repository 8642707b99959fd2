"""`training:` how `forge train` trains."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from forge.config.base import Section


class TrainingConfig(Section):
    method: Literal["full", "lora", "qlora", "scratch"] = Field(
        "lora", description="full fine-tune, LoRA, QLoRA (4-bit base), or from scratch."
    )
    seed: int = Field(0, description="Seed for every random choice in training.")
    batch_size: int = Field(8, gt=0, description="Micro-batch size per device.")
    gradient_accumulation: int = Field(1, gt=0, description="Micro-batches per optimizer step.")
    lr: float = Field(2e-4, gt=0, description="Peak learning rate.")
    max_steps: int = Field(1000, gt=0, description="Optimizer steps to train for.")
    output_dir: str = Field(
        "runs", description="Where runs (checkpoints, metrics, samples) are written."
    )
