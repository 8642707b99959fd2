"""How long training takes: FLOPs per token and what a device sustains.

FLOPs per trained token (Kaplan et al. 2020, "Scaling Laws", sec. 2.1; PaLM, Chowdhery et
al. 2022, appendix B): 6*N for the forward (2N) and backward (4N) passes, plus attention
12*L*s*d_attn. LoRA and QLoRA skip the frozen weights' gradients (about 2N of the 4N
backward), so 4*N; gradient checkpointing runs the forward twice (+2N).

Sustained throughput = peak dense 16-bit tensor FLOP/s from the vendor's data sheet x a model
FLOPs utilization (MFU). 35% is typical of a well-fed single GPU with PyTorch (PaLM reports
46% at scale, nanoGPT ~30-40% on an A100); QLoRA loses more to dequantization.
CPUs: about 10 GFLOP/s per core in fp32 through torch's BLAS (AVX2 FMA peaks near 32-64
GFLOP/s per core; training reaches a fraction of that).
"""

from __future__ import annotations

from forge.catalog.spec import ModelSpec
from forge.hardware import Hardware

# Peak dense bf16/fp16 tensor TFLOP/s (no sparsity), vendor data sheets. Matched by substring
# of the GPU name, most specific first.
PEAK_TFLOPS: list[tuple[str, float]] = [
    ("H200", 989.0),
    ("H100 PCIe", 756.0),
    ("H100", 989.0),
    ("GH200", 989.0),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("A800", 312.0),
    ("L40S", 362.0),
    ("L40", 181.0),
    ("L4", 121.0),
    ("A10G", 70.0),
    ("A10", 125.0),
    ("A6000", 155.0),
    ("RTX 6000 Ada", 364.0),
    ("4090", 165.0),
    ("4080", 97.0),
    ("4070", 58.0),
    ("4060", 30.0),
    ("3090", 71.0),
    ("3080", 59.0),
    ("3070", 40.0),
    ("3060", 25.0),
    ("V100", 125.0),
    ("T4", 65.0),
]
# When the name is unknown: a modest figure per architecture generation.
GENERATION_TFLOPS = {
    "Blackwell": 1000.0,
    "Hopper": 750.0,
    "Ada Lovelace": 100.0,
    "Ampere": 70.0,
    "Turing": 40.0,
    "Volta": 100.0,
    "Pascal": 10.0,
}
MFU = {"full": 0.35, "scratch": 0.35, "lora": 0.35, "qlora": 0.25}
CPU_FLOPS_PER_CORE = 10e9
MPS_FLOPS = 3e12  # Apple M-series GPUs sustain a few TFLOP/s in training


def gpu_peak_flops(name: str, generation: str | None = None) -> float:
    for key, tflops in PEAK_TFLOPS:
        if key.lower() in name.lower():
            return tflops * 1e12
    return GENERATION_TFLOPS.get(generation or "", 20.0) * 1e12


def device_flops(hw: Hardware, method: str) -> float:
    """Sustained training FLOP/s of the whole machine (all GPUs, data parallel)."""
    if hw.device == "cuda" and hw.gpus:
        return sum(gpu_peak_flops(g.name, g.generation) for g in hw.gpus) * MFU[method]
    if hw.device == "mps":
        return MPS_FLOPS * MFU[method]
    return CPU_FLOPS_PER_CORE * max(hw.cpu_cores, 1)


def flops_per_token(
    spec: ModelSpec, method: str, seq_len: int, gradient_checkpointing: bool = False
) -> float:
    n = spec.params_active
    dense = (4 if method in ("lora", "qlora") else 6) * n
    if gradient_checkpointing:
        dense += 2 * n
    attn = 12 * spec.n_layers * seq_len * spec.n_heads * spec.attn_head_dim
    if method in ("lora", "qlora"):
        attn = attn * 2 // 3
    return dense + attn


def training_hours(
    spec: ModelSpec,
    method: str,
    tokens: float,
    seq_len: int,
    hw: Hardware,
    gradient_checkpointing: bool = False,
) -> float:
    fpt = flops_per_token(spec, method, seq_len, gradient_checkpointing)
    return fpt * tokens / device_flops(hw, method) / 3600
