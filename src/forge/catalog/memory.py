"""Training memory estimator: full fine-tune, LoRA, QLoRA and from-scratch.

memory = weights + gradients + optimizer states + activations + overhead

Sources for the formulas (each used where marked below):
[ZeRO]  Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion
        Parameter Models", sec. 3.1: mixed-precision Adam keeps fp16 weights (2 bytes) and
        gradients (2) plus an fp32 master copy, momentum and variance (4 + 4 + 4): 16 bytes
        per parameter ("a 1.5B GPT-2 needs at least 24 GB").
[LoRA]  Hu et al. 2021, "LoRA": a frozen W (d_out x d_in) plus trainable B (d_out x r) and
        A (r x d_in): r * (d_in + d_out) trainable parameters per adapted matrix.
[QLoRA] Dettmers et al. 2023, "QLoRA": 4-bit NormalFloat weights (0.5 bytes/param) with
        double-quantized constants (0.127 bits/param), bf16 compute, LoRA on every linear
        layer; embeddings and the output head stay in 16 bit.
[ACT]   Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer
        Models", sec. 4.1: one layer stores s*b*h*(34 + 5*a*s/h) bytes of 16-bit activations
        (s sequence, b batch, h hidden, a heads). The 5*a*s^2*b term is the attention matrix,
        which flash / memory-efficient attention (torch SDPA) does not store.
        Generalized here to grouped-query attention and gated (SwiGLU) MLPs; see
        `activation_bytes_per_token`.
All sizes are bytes; `MemoryEstimate.gib()` converts for people.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from forge.catalog.spec import ModelSpec, gated_mlp

Method = Literal["full", "lora", "qlora", "scratch"]
GIB = 1024**3

DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}
# bytes of optimizer state per trainable parameter (on top of weights and gradients)
OPTIMIZER_BYTES = {
    "adamw": 8,  # momentum + variance in fp32 [ZeRO]
    "adamw8bit": 2,  # bitsandbytes 8-bit Adam: one byte per state
    "sgd": 0,
}
# [QLoRA] 4 bits per weight + 0.127 bits of double-quantized block constants.
NF4_BYTES = (4 + 0.127) / 8
# CUDA context, cuBLAS/cuDNN workspaces and the torch runtime: about 1 GiB before any tensor
# (measured as ~0.5-1 GiB per process on recent drivers); on CPU the Python + torch process.
FIXED_OVERHEAD = 1 * GIB
# The caching allocator rounds and fragments blocks; 10% on top is a common planning margin.
FRAGMENTATION = 0.10


@dataclass(frozen=True)
class MemoryEstimate:
    """Peak training memory per device, in bytes, by part."""

    method: str
    batch_size: int
    seq_len: int
    precision: str
    gradient_checkpointing: bool
    trainable_params: int
    weights: int
    gradients: int
    optimizer: int
    activations: int
    overhead: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations + self.overhead

    @staticmethod
    def gib(n: float) -> float:
        return n / GIB

    @property
    def total_gib(self) -> float:
        return self.total / GIB

    def breakdown_gib(self) -> dict[str, float]:
        parts = ("weights", "gradients", "optimizer", "activations", "overhead")
        out = {p: round(getattr(self, p) / GIB, 2) for p in parts}
        out["total"] = round(self.total_gib, 2)
        return out

    def to_dict(self) -> dict:
        return {**asdict(self), "total": self.total, "gib": self.breakdown_gib()}


def linear_params_per_layer(spec: ModelSpec) -> dict[str, tuple[int, int]]:
    """(d_in, d_out) of each linear layer in one transformer block (attention + MLP)."""
    h, hd = spec.hidden_size, spec.attn_head_dim
    q, kv = spec.n_heads * hd, spec.n_kv_heads * hd
    layers = {"q": (h, q), "k": (h, kv), "v": (h, kv), "o": (q, h)}
    inter = spec.moe_intermediate_size if spec.is_moe else spec.intermediate_size
    if gated_mlp(spec.architecture):
        layers |= {"gate": (h, inter), "up": (h, inter), "down": (inter, h)}
    else:
        layers |= {"up": (h, inter), "down": (inter, h)}
    return layers


def lora_params(spec: ModelSpec, rank: int = 16, targets: str = "all-linear") -> int:
    """Trainable LoRA parameters [LoRA]: r * (d_in + d_out) per adapted matrix, per layer.

    ``targets``: `all-linear` (attention and MLP, the QLoRA recipe), `attention` (q,k,v,o),
    or a comma list such as `q,v` (the LoRA paper's choice).
    MoE experts are not adapted (attention and shared layers only), as is usual.
    """
    mats = linear_params_per_layer(spec)
    if targets == "attention" or spec.is_moe:
        mats = {k: v for k, v in mats.items() if k in ("q", "k", "v", "o")}
    elif targets != "all-linear":  # a comma list of short names: "q,v"
        names = {t.strip().removesuffix("_proj") for t in targets.split(",")}
        mats = {k: v for k, v in mats.items() if k in names}
    return spec.n_layers * sum(rank * (i + o) for i, o in mats.values())


def _embedding_params(spec: ModelSpec) -> int:
    return spec.vocab_size * spec.hidden_size * (1 if spec.tied_embeddings else 2)


def activation_bytes_per_token(spec: ModelSpec, act_bytes: int, dropout: bool = False) -> int:
    """Activation memory one transformer layer keeps per token for the backward pass.

    [ACT] counts 34*h bytes per token for a GPT-style layer in 16 bit: 4h layer-norm inputs,
    11h attention (q,k,v inputs/outputs, output projection input, a dropout mask), 19h MLP
    (input 2h, GeLU input 8h, down-projection input 8h, dropout mask h). Spelled out per
    stored tensor (in elements), generalized to GQA (kv width) and gated MLPs:
      norms: 2 inputs of h; attention: projection input h, q (q_dim), k and v (2 kv_dim),
      attention output (q_dim); MLP: input h, then 2*I (pre- and post-activation) or, gated,
      3*I (gate, up, and their product); plus 1-byte dropout masks (attention output, MLP
      output, attention probabilities' mask is in the s^2 term) when dropout is on.
    For GPT-2 shapes (q_dim = kv_dim = h, I = 4h, dropout) this is exactly 34*h bytes.
    """
    h, hd = spec.hidden_size, spec.attn_head_dim
    q, kv = spec.n_heads * hd, spec.n_kv_heads * hd
    if spec.is_moe:  # each token goes through experts_per_token experts
        inter = spec.experts_per_token * spec.moe_intermediate_size
    else:
        inter = spec.intermediate_size
    elems = 2 * h + (h + 2 * q + 2 * kv) + h + (3 if gated_mlp(spec.architecture) else 2) * inter
    masks = 2 * h if dropout else 0  # 1 byte each [ACT]
    return elems * act_bytes + masks


def attention_matrix_bytes(spec: ModelSpec, seq_len: int, dropout: bool = False) -> int:
    """Per layer and sequence, without flash attention [ACT]: softmax input and output (2 bytes
    each) and, with dropout, its 1-byte mask: 5*a*s^2 bytes (4*a*s^2 without dropout)."""
    return (5 if dropout else 4) * spec.n_heads * seq_len * seq_len


def estimate(
    spec: ModelSpec,
    method: Method,
    batch_size: int = 1,
    seq_len: int | None = None,
    *,
    precision: Literal["bf16", "fp16", "fp32"] = "bf16",
    gradient_checkpointing: bool = False,
    lora_rank: int = 16,
    lora_targets: str = "all-linear",
    optimizer: str = "adamw",
    flash_attention: bool = True,
    dropout: bool = False,
) -> MemoryEstimate:
    """Peak memory of one training step on one device (no sharding across devices).

    ``precision`` is the compute dtype: bf16/fp16 mean mixed precision (16-bit weights,
    gradients and activations; fp32 master weights and Adam states), fp32 means plain fp32.
    """
    seq = seq_len or spec.context_length
    N = spec.params
    act_b = DTYPE_BYTES[precision]
    mixed = precision != "fp32"
    opt_b = OPTIMIZER_BYTES[optimizer]

    if method in ("full", "scratch"):
        trainable = N
        # [ZeRO]: 16-bit weights (2) + 16-bit grads (2) + fp32 master (4) + Adam (8) = 16 B;
        # plain fp32: weights (4) + grads (4) + Adam (8) = 16 B as well.
        weights = N * (2 + 4 if mixed else 4)  # the fp32 master copy is counted with weights
        grads = N * act_b
        opt = N * opt_b
    elif method in ("lora", "qlora"):
        trainable = lora_params(spec, lora_rank, lora_targets)
        if method == "qlora":
            # [QLoRA]: transformer-block linears in NF4; embeddings/head and norms stay 16-bit.
            block_linear = max(0, N - _embedding_params(spec))
            weights = int(block_linear * NF4_BYTES) + _embedding_params(spec) * 2
        else:
            weights = N * act_b  # frozen base in the compute dtype
        # Adapters train in fp32 (peft's default): weights 4 + grads 4 + optimizer states.
        weights += trainable * 4
        grads = trainable * 4
        opt = trainable * opt_b
    else:
        raise ValueError(f"unknown method {method!r}")

    tokens = batch_size * seq
    per_layer = activation_bytes_per_token(spec, act_b, dropout) * tokens
    if not flash_attention:
        per_layer += attention_matrix_bytes(spec, seq, dropout) * batch_size
    if gradient_checkpointing:
        # Only each layer's input (h values per token) is kept; one layer's full activations
        # (which include its own input) are rebuilt at a time during the backward pass.
        acts = (spec.n_layers - 1) * tokens * spec.hidden_size * act_b + per_layer
    else:
        acts = spec.n_layers * per_layer
    # The output layer: logits in the compute dtype, upcast to fp32 for the loss, and their
    # fp32 gradient: (act_b + 4 + 4) bytes per vocabulary entry per token.
    acts += tokens * spec.vocab_size * (act_b + 8)
    # embeddings output and the final norm
    acts += 2 * tokens * spec.hidden_size * act_b

    subtotal = weights + grads + opt + acts
    overhead = FIXED_OVERHEAD + int(FRAGMENTATION * subtotal)
    return MemoryEstimate(
        method=method,
        batch_size=batch_size,
        seq_len=seq,
        precision=precision,
        gradient_checkpointing=gradient_checkpointing,
        trainable_params=trainable,
        weights=int(weights),
        gradients=int(grads),
        optimizer=int(opt),
        activations=int(acts),
        overhead=overhead,
    )


def bytes_per_param_states(
    method: Method, precision: str = "bf16", optimizer: str = "adamw"
) -> float:
    """Weights + gradients + optimizer bytes per model parameter for full/scratch training
    (16 for mixed-precision or fp32 AdamW [ZeRO])."""
    if method not in ("full", "scratch"):
        raise ValueError("per-parameter state bytes are defined for full and scratch training")
    b = DTYPE_BYTES[precision]
    return (2 + 4 if b == 2 else 4) + b + OPTIMIZER_BYTES[optimizer]
