"""Processes and devices: one CPU process, one GPU, or DDP under torchrun.

Under ``torchrun --nproc-per-node N -m forge train ...`` the environment carries RANK,
WORLD_SIZE and LOCAL_RANK; we join the process group (NCCL on GPUs, gloo on CPU) and each
rank trains on its slice of every global batch. Without them, this is a world of one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

# Dense bf16/fp16 tensor-core peak FLOP/s by GPU model (vendor datasheets, no sparsity).
# Matched by substring of torch.cuda.get_device_name(), most specific first.
GPU_PEAK_FLOPS: list[tuple[str, float]] = [
    ("H200", 989e12),
    ("H100 PCIe", 756e12),
    ("H100", 989e12),
    ("A100", 312e12),
    ("A800", 312e12),
    ("L40S", 362e12),
    ("L40", 181e12),
    ("L4", 121e12),
    ("A10G", 70e12),
    ("A10", 125e12),
    ("A6000", 155e12),
    ("4090", 165e12),
    ("3090", 71e12),
    ("V100", 125e12),
    ("T4", 65e12),
]


def gpu_peak_flops(name: str) -> float | None:
    """Peak FLOP/s of a GPU by its device name, or None when unknown (no MFU then)."""
    for key, flops in GPU_PEAK_FLOPS:
        if key.lower() in name.lower():
            return flops
    return None


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def ddp(self) -> bool:
        return self.world > 1


def pick_device(choice: str = "auto") -> str:
    if choice == "cpu":
        return "cpu"
    if choice in ("auto", "cuda") and torch.cuda.is_available():
        return "cuda"
    if choice in ("auto", "mps") and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def setup(device_choice: str = "auto") -> DistInfo:
    """Join the process group when started by torchrun; pick this rank's device."""
    device = pick_device(device_choice)
    if "RANK" not in os.environ or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return DistInfo(device=device)
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "cuda":
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return DistInfo(rank, world, local, device)


def teardown(info: DistInfo) -> None:
    if info.ddp and dist.is_initialized():
        dist.destroy_process_group()


def mean(value: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """The mean of a scalar tensor over all ranks."""
    if info.ddp:
        value = value.detach().clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        value /= info.world
    return value


def gather_objects(obj, info: DistInfo) -> list:
    """One object from every rank, in rank order."""
    if not info.ddp:
        return [obj]
    out: list = [None] * info.world
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj, info: DistInfo):
    """Rank 0's object on every rank."""
    if not info.ddp:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(info: DistInfo) -> None:
    if info.ddp:
        dist.barrier()
