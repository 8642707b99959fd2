"""`training:` how `forge train` trains.

Fields left unset take the model preset's training defaults (src/forge/catalog/presets.yaml)
when `model.name` is a forge GPT preset, then the defaults below.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from forge.config.base import Section


class GPTSection(Section):
    """Architecture of a GPT trained from scratch. Unset fields come from the preset."""

    n_layer: int | None = Field(None, gt=0, description="Transformer blocks.")
    n_head: int | None = Field(None, gt=0, description="Attention heads per block.")
    n_embd: int | None = Field(None, gt=0, description="Embedding width (divisible by n_head).")
    block_size: int | None = Field(None, gt=1, description="Context length in tokens.")
    dropout: float | None = Field(None, ge=0, lt=1, description="Dropout probability.")
    bias: bool | None = Field(None, description="Biases in linear layers and LayerNorm.")
    norm: Literal["layernorm", "rmsnorm"] | None = Field(None, description="Normalization.")
    mlp: Literal["gelu", "swiglu"] | None = Field(None, description="MLP activation.")
    position: Literal["learned", "rope"] | None = Field(
        None, description="Position encoding: learned embeddings or rotary (RoPE)."
    )
    vocab_size: int | None = Field(
        None, gt=0, description="BPE vocabulary size when a tokenizer is trained for the run."
    )


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
    # --- from-scratch GPT training (forge train) ---
    data: str | None = Field(
        None,
        description="Training data: a prepared dataset folder (data/<name>) or a plain text "
        "file. Empty: data.output_dir/data.name.",
    )
    val_fraction: float = Field(
        0.1, gt=0, lt=1, description="Validation share of a plain text file (its last tokens)."
    )
    run_name: str | None = Field(None, description="Run folder name. Empty: preset + timestamp.")
    gpt: GPTSection = Field(default_factory=GPTSection, description="GPT architecture.")
    model_type: str = Field("gpt", description="Model component from the registry.")
    optimizer: str = Field("adamw", description="Optimizer component from the registry.")
    scheduler: str = Field(
        "cosine", description="Learning-rate schedule after warmup: cosine, linear, constant."
    )
    data_source: str = Field(
        "auto",
        description="Data source from the registry: auto (a folder is prepared data, a file "
        "is text), prepared, text.",
    )
    min_lr: float | None = Field(None, ge=0, description="Final learning rate. Empty: lr / 10.")
    warmup_steps: int = Field(100, ge=0, description="Linear warmup steps.")
    weight_decay: float = Field(0.1, ge=0, description="AdamW weight decay (2-D weights only).")
    beta1: float = Field(0.9, ge=0, lt=1, description="AdamW beta1.")
    beta2: float = Field(0.99, ge=0, lt=1, description="AdamW beta2.")
    grad_clip: float = Field(1.0, ge=0, description="Clip the gradient norm to this (0: off).")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto", description="auto: bf16 on GPUs that have it, else fp16 on GPU, fp32 on CPU."
    )
    compile: bool = Field(False, description="torch.compile the model (helps on GPU).")
    num_threads: int | None = Field(
        None,
        gt=0,
        description="CPU threads for PyTorch. Empty: the physical cores not busy with other "
        "processes right now (by load average), divided among local ranks.",
    )
    eval_interval: int = Field(250, gt=0, description="Evaluate every N steps (and at the end).")
    eval_batches: int = Field(20, gt=0, description="Validation batches per evaluation.")
    patience: int = Field(
        0, ge=0, description="Stop after N evaluations without improvement (0: never)."
    )
    log_interval: int = Field(10, gt=0, description="Print a metrics line every N steps.")
    sample_interval: int = Field(0, ge=0, description="Generate samples every N steps (0: off).")
    sample_prompts: list[str] = Field(
        default_factory=lambda: ["\n"], description="Prompts for the periodic samples."
    )
    sample_tokens: int = Field(100, gt=0, description="Tokens per periodic sample.")
    checkpoint_interval: int = Field(
        500, gt=0, description="Save a checkpoint every N steps (and at the end)."
    )
    keep_last: int = Field(2, ge=1, description="Checkpoints kept besides the best one.")
