"""`hardware:` what the machine is. Detected when empty; set a field to override detection
(or to plan for another machine: `forge plan` reads this section)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from forge.config.base import Section


class GPUSpec(Section):
    name: str = Field(description="GPU model name, e.g. `NVIDIA A100-SXM4-80GB`.")
    vram_gb: float = Field(gt=0, description="GPU memory in GiB.")
    compute_capability: str | None = Field(
        None,
        pattern=r"^\d+\.\d+$",
        description="CUDA compute capability, e.g. `8.0` (arch sm_80); bf16 needs >= 8.0.",
    )
    count: int = Field(1, gt=0, description="How many GPUs of this kind.")


class HardwareConfig(Section):
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="Where to train: `auto` picks CUDA, then MPS, then CPU."
    )
    gpus: list[GPUSpec] | None = Field(
        None, description="GPUs to plan for instead of the detected ones (`[]` means none)."
    )
    ram_gb: float | None = Field(
        None, gt=0, description="System memory in GiB (detected when empty)."
    )
    cpu_cores: int | None = Field(None, gt=0, description="CPU cores (detected when empty).")
    disk_free_gb: float | None = Field(
        None, ge=0, description="Free disk space at the project in GiB (detected when empty)."
    )
