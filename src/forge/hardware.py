"""What this machine is: CPU, RAM, disk, NVIDIA GPUs, Apple MPS.

`detect()` works with nothing optional installed: NVML (nvidia-ml-py) and torch are imported
lazily and any failure just means "not found". `effective_hardware(cfg.hardware)` applies the
`hardware:` section of forge.yaml on top of detection, so a plan can be made for another
machine (or a test can describe one as data).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import shutil
import subprocess
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

GIB = 1024**3

# Compute capability major.minor -> NVIDIA architecture generation.
_GENERATIONS = {
    (6, 0): "Pascal",
    (6, 1): "Pascal",
    (7, 0): "Volta",
    (7, 2): "Volta",
    (7, 5): "Turing",
    (8, 0): "Ampere",
    (8, 6): "Ampere",
    (8, 7): "Ampere",
    (8, 9): "Ada Lovelace",
    (9, 0): "Hopper",
    (10, 0): "Blackwell",
    (12, 0): "Blackwell",
}


@dataclass(frozen=True)
class GPU:
    """One CUDA device. Memory in GiB."""

    name: str
    vram_gb: float
    compute_capability: str | None = None  # "8.0"
    vram_free_gb: float | None = None
    index: int = 0

    @property
    def cc(self) -> tuple[int, int] | None:
        if not self.compute_capability:
            return None
        major, _, minor = self.compute_capability.partition(".")
        try:
            return int(major), int(minor or 0)
        except ValueError:
            return None

    @property
    def arch(self) -> str | None:
        """`sm_80`, `sm_90`: what CUDA kernels are compiled for."""
        return f"sm_{self.cc[0]}{self.cc[1]}" if self.cc else None

    @property
    def generation(self) -> str | None:
        return _GENERATIONS.get(self.cc) if self.cc else None

    @property
    def bf16(self) -> bool:
        """bfloat16 tensor cores arrived with Ampere (8.0). Unknown capability: assume not."""
        return bool(self.cc and self.cc >= (8, 0))


@dataclass(frozen=True)
class Hardware:
    """A machine. Memory and disk in GiB. ``sources`` says where each fact came from."""

    cpu_model: str
    cpu_cores: int  # cores this process may use (affinity / container limit)
    ram_total_gb: float
    ram_available_gb: float
    disk_free_gb: float | None
    gpus: tuple[GPU, ...] = ()
    mps: bool = False
    os: str = field(default_factory=platform.system)
    cpu_cores_physical: int | None = None
    disk_path: str | None = None
    device_override: str | None = None  # forge.yaml `hardware.device` when not `auto`
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def device(self) -> str:
        """Where training runs: CUDA if there is a GPU, then MPS, then CPU."""
        if self.device_override:
            return self.device_override
        if self.gpus:
            return "cuda"
        return "mps" if self.mps else "cpu"

    @property
    def vram_gb(self) -> float:
        """Memory of the smallest GPU (data-parallel training is bounded by it); 0 without."""
        return min((g.vram_gb for g in self.gpus), default=0.0)

    @property
    def bf16(self) -> bool:
        return bool(self.gpus) and all(g.bf16 for g in self.gpus)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["gpus"] = [
            {**asdict(g), "arch": g.arch, "generation": g.generation, "bf16": g.bf16}
            for g in self.gpus
        ]
        d["device"] = self.device
        return d

    def describe(self) -> str:
        """One line for people: `AMD EPYC, 2 cores, 23.4 GiB RAM, no GPU`."""
        parts = [self.cpu_model] if self.cpu_model else []  # empty for a described machine
        parts += [f"{self.cpu_cores} cores", f"{self.ram_total_gb:.1f} GiB RAM"]
        if self.gpus:
            names: dict[str, int] = {}
            for g in self.gpus:
                key = f"{g.name} {g.vram_gb:.0f} GiB" + (f" {g.arch}" if g.arch else "")
                names[key] = names.get(key, 0) + 1
            parts.append(", ".join(f"{n} x {k}" if n > 1 else k for k, n in names.items()))
        elif self.mps:
            parts.append("Apple GPU (MPS)")
        else:
            parts.append("no GPU")
        return ", ".join(parts)


# ---------------------------------------------------------------------------------- detection


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    if platform.system() == "Darwin":
        with contextlib.suppress(Exception):
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=5,
            )
            if out.stdout.strip():
                return out.stdout.strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def _cpu_cores() -> tuple[int, int | None]:
    usable = os.cpu_count() or 1
    with contextlib.suppress(AttributeError, OSError):
        usable = len(os.sched_getaffinity(0))
    with contextlib.suppress(
        OSError, ValueError
    ):  # cgroup v2 CPU quota: "max 100000" or "200000 100000"
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            usable = max(1, min(usable, int(int(quota) / int(period))))
    physical = None
    with contextlib.suppress(Exception):
        import psutil

        physical = psutil.cpu_count(logical=False)
    return usable, physical


def _cgroup_memory_limit() -> int | None:
    """A container's memory limit (cgroup v2 or v1), which psutil does not see."""
    for p in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(OSError, ValueError):
            raw = Path(p).read_text().strip()
            if raw != "max" and int(raw) < 1 << 60:
                return int(raw)
    return None


def _memory() -> tuple[float, float]:
    total = avail = 0
    try:
        import psutil

        vm = psutil.virtual_memory()
        total, avail = vm.total, vm.available
    except Exception:
        with contextlib.suppress(OSError, ValueError, IndexError):
            info = {
                line.split(":")[0]: int(line.split()[1]) * 1024
                for line in Path("/proc/meminfo").read_text().splitlines()
            }
            total, avail = info["MemTotal"], info.get("MemAvailable", info["MemFree"])
    limit = _cgroup_memory_limit()
    if limit and (not total or limit < total):
        avail = min(avail, limit) if avail else limit
        total = limit
    return total / GIB, avail / GIB


def _disk_free(project_dir: str | os.PathLike) -> tuple[float | None, str | None]:
    path = Path(project_dir).resolve()
    while not path.exists() and path != path.parent:  # a project folder not made yet
        path = path.parent
    try:
        return shutil.disk_usage(path).free / GIB, str(path)
    except OSError:
        return None, None


def _gpus_nvml() -> list[GPU] | None:
    """GPUs through NVML (the driver's library): fast, and needs no torch. None: no NVML."""
    if importlib.util.find_spec("pynvml") is None:
        return None
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return None  # no driver, no GPU
    gpus = []
    try:
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(h)
            name = name.decode() if isinstance(name, bytes) else str(name)
            mem = pynvml.nvmlDeviceGetMemoryInfo(h)
            cc = None
            with contextlib.suppress(Exception):
                major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(h)
                cc = f"{major}.{minor}"
            gpus.append(GPU(name, mem.total / GIB, cc, mem.free / GIB, i))
    except Exception:
        return gpus or None
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()
    return gpus


def _torch_devices() -> tuple[list[GPU] | None, bool]:
    """GPUs and MPS through torch, when it is installed (importing it takes a second)."""
    if importlib.util.find_spec("torch") is None:
        return None, False
    try:
        import torch
    except Exception:
        return None, False
    gpus: list[GPU] = []
    with contextlib.suppress(Exception):
        if torch.cuda.is_available():
            for i in range(torch.cuda.device_count()):
                p = torch.cuda.get_device_properties(i)
                gpus.append(GPU(p.name, p.total_memory / GIB, f"{p.major}.{p.minor}", None, i))
    mps = False
    with contextlib.suppress(Exception):
        mps = bool(torch.backends.mps.is_available())
    return gpus, mps


def detect(project_dir: str | os.PathLike = ".") -> Hardware:
    """Describe this machine. Never raises: what cannot be found is left empty."""
    cores, physical = _cpu_cores()
    total, avail = _memory()
    disk, disk_path = _disk_free(project_dir)
    sources = {"cpu": "detected", "ram": "detected", "disk": "detected"}
    gpus = _gpus_nvml()
    mps = False
    if gpus is not None:
        sources["gpus"] = "nvml"
    is_apple = platform.system() == "Darwin" and platform.machine() == "arm64"
    if gpus is None or is_apple:
        tgpus, mps = _torch_devices()
        if gpus is None and tgpus is not None:
            gpus, sources["gpus"] = tgpus, "torch" if tgpus else "torch (no CUDA device)"
    if is_apple and not mps and importlib.util.find_spec("torch") is None:
        mps = True  # Apple silicon has the GPU; torch (to use it) is reported by `forge doctor`
    sources.setdefault("gpus", "none found (no NVML, no torch)")
    return Hardware(
        cpu_model=_cpu_model(),
        cpu_cores=cores,
        cpu_cores_physical=physical,
        ram_total_gb=total,
        ram_available_gb=avail,
        disk_free_gb=disk,
        disk_path=disk_path,
        gpus=tuple(gpus or ()),
        mps=mps,
        sources=sources,
    )


def effective_hardware(hw_cfg: Any = None, detected: Hardware | None = None) -> Hardware:
    """The machine to plan for: detection with forge.yaml's `hardware:` fields on top.

    ``hw_cfg`` is a `forge.config.hardware.HardwareConfig` (or None). Fields it sets replace
    the detected ones; `gpus: []` means "plan for no GPU". Detection only runs for what the
    config leaves empty, so a fully described machine never touches this one's hardware.
    """
    if hw_cfg is None:
        return detected or detect()
    complete = (
        hw_cfg.gpus is not None and hw_cfg.ram_gb is not None and hw_cfg.cpu_cores is not None
    )
    if detected is None:
        detected = Hardware("", 1, 0.0, 0.0, None, sources={}) if complete else detect()
    hw = detected
    sources = dict(hw.sources)
    if hw_cfg.gpus is not None:
        specs = [g for g in hw_cfg.gpus for _ in range(g.count)]
        gpus = tuple(
            GPU(g.name, g.vram_gb, g.compute_capability, None, i) for i, g in enumerate(specs)
        )
        hw, sources["gpus"] = replace(hw, gpus=gpus), "forge.yaml"
    if hw_cfg.ram_gb is not None:
        ram = hw_cfg.ram_gb
        hw, sources["ram"] = replace(hw, ram_total_gb=ram, ram_available_gb=ram), "forge.yaml"
    if hw_cfg.cpu_cores is not None:
        hw, sources["cpu"] = replace(hw, cpu_cores=hw_cfg.cpu_cores), "forge.yaml"
    if hw_cfg.disk_free_gb is not None:
        hw, sources["disk"] = replace(hw, disk_free_gb=hw_cfg.disk_free_gb), "forge.yaml"
    if hw_cfg.device != "auto":
        mps = hw.mps or hw_cfg.device == "mps"
        hw = replace(hw, device_override=hw_cfg.device, mps=mps)
        if hw_cfg.device in ("cpu", "mps"):
            hw = replace(hw, gpus=())
    return replace(hw, sources=sources)
