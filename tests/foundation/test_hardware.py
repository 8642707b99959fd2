"""forge.hardware.detect, forge.yaml overrides, and `forge doctor`."""

from __future__ import annotations

import importlib.util
import json

import pytest

from forge import hardware
from forge.config.hardware import HardwareConfig
from forge.hardware import GPU, Hardware, detect, effective_hardware


def test_detect_this_machine(tmp_path):
    hw = detect(tmp_path / "not-made-yet")  # a project folder that does not exist yet
    assert hw.cpu_cores >= 1 and hw.cpu_model
    assert 0 < hw.ram_available_gb <= hw.ram_total_gb
    assert hw.disk_free_gb is not None and hw.disk_free_gb > 0
    assert hw.device in ("cpu", "cuda", "mps")
    d = hw.to_dict()
    assert json.dumps(d) and d["device"] == hw.device


def test_detect_with_nothing_optional_installed(monkeypatch):
    real = importlib.util.find_spec

    def hide(name, *a, **k):
        if name.split(".")[0] in ("pynvml", "torch", "psutil"):
            return None
        return real(name, *a, **k)

    monkeypatch.setattr(hardware.importlib.util, "find_spec", hide)
    hw = detect()
    assert hw.gpus == () and hw.ram_total_gb > 0
    assert hw.sources["gpus"].startswith("none found")


def test_gpu_facts():
    a100 = GPU("NVIDIA A100-SXM4-80GB", 79.2, "8.0")
    assert (a100.arch, a100.generation, a100.bf16) == ("sm_80", "Ampere", True)
    h100 = GPU("NVIDIA H100 80GB HBM3", 79.6, "9.0")
    assert (h100.arch, h100.generation) == ("sm_90", "Hopper")
    t4 = GPU("Tesla T4", 15.0, "7.5")
    assert (t4.arch, t4.bf16) == ("sm_75", False)
    assert GPU("mystery", 8.0).arch is None


def test_overrides_from_forge_yaml():
    here = Hardware("cpu x", 8, 32.0, 20.0, 100.0, (GPU("RTX 3060", 12.0, "8.6"),))
    cfg = HardwareConfig.model_validate(
        {
            "gpus": [
                {
                    "name": "NVIDIA A100-SXM4-80GB",
                    "vram_gb": 80,
                    "compute_capability": "8.0",
                    "count": 2,
                }
            ],
            "ram_gb": 512,
        }
    )
    hw = effective_hardware(cfg, here)
    assert [g.name for g in hw.gpus] == ["NVIDIA A100-SXM4-80GB"] * 2
    assert [g.index for g in hw.gpus] == [0, 1]
    assert hw.ram_total_gb == 512 and hw.cpu_cores == 8  # cores still detected
    assert hw.sources["gpus"] == "forge.yaml" and hw.device == "cuda"
    no_gpu = effective_hardware(HardwareConfig(gpus=[]), here)
    assert no_gpu.gpus == () and no_gpu.device == "cpu"
    forced_cpu = effective_hardware(HardwareConfig(device="cpu"), here)
    assert forced_cpu.device == "cpu" and forced_cpu.gpus == ()
    assert effective_hardware(None, here) is here


def test_a_fully_described_machine_needs_no_detection(monkeypatch):
    monkeypatch.setattr(hardware, "detect", lambda *a, **k: pytest.fail("detected"))
    hw = effective_hardware(HardwareConfig(gpus=[], ram_gb=16, cpu_cores=4))
    assert (hw.ram_total_gb, hw.cpu_cores, hw.device) == (16, 4, "cpu")


def test_bad_hardware_values_are_rejected():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        HardwareConfig.model_validate({"gpus": [{"name": "x", "vram_gb": 0}]})
    with pytest.raises(ValidationError):
        HardwareConfig.model_validate(
            {"gpus": [{"name": "x", "vram_gb": 8, "compute_capability": "sm_80"}]}
        )


def test_doctor_json(forge_cli):
    r = forge_cli("doctor", "--json")
    assert r.code == 0, r
    out = json.loads(r.stdout)
    names = {c["name"] for c in out["checks"]}
    for part in [
        "torch",
        "torch CUDA",
        "bubblewrap",
        "docker client",
        "TensorBoard",
        "MLflow",
        "Ray",
    ]:
        assert part in names
    assert {"sentence-transformers", "MiniLM (offline)"} <= names
    for c in out["checks"]:
        if not c["ok"] and c["applicable"]:
            assert c["install"], c  # every missing part says what to install
    assert out["hardware"]["cpu_cores"] >= 1


def test_doctor_reads_hardware_overrides(forge_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "forge.yaml").write_text(
        "version: 1\nhardware:\n  gpus: [{name: NVIDIA L4, vram_gb: 22.5, compute_capability: '8.9'}]\n"
    )
    r = forge_cli("doctor")
    assert r.code == 0, r
    assert "NVIDIA L4" in r.stdout and "sm_89" in r.stdout and "from forge.yaml" in r.stdout


def test_nvml_readings_become_gpus(monkeypatch):
    """The NVML calls forge makes, answered as nvidia-ml-py answers them on a 2-GPU machine
    (this machine has no GPU; `forge doctor` shows the real thing where there is one)."""
    import types

    class Mem:
        total, free = 80 * 1024**3, 79 * 1024**3

    fake = types.SimpleNamespace(
        nvmlInit=lambda: None,
        nvmlShutdown=lambda: None,
        nvmlDeviceGetCount=lambda: 2,
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetName=lambda h: b"NVIDIA H100 80GB HBM3" if h == 0 else "NVIDIA A100-SXM4-80GB",
        nvmlDeviceGetMemoryInfo=lambda h: Mem,
        nvmlDeviceGetCudaComputeCapability=lambda h: (9, 0) if h == 0 else (8, 0),
    )
    monkeypatch.setitem(__import__("sys").modules, "pynvml", fake)
    monkeypatch.setattr(hardware.importlib.util, "find_spec", lambda name, *a: object())
    gpus = hardware._gpus_nvml()
    assert [(g.name, g.arch, g.index) for g in gpus] == [
        ("NVIDIA H100 80GB HBM3", "sm_90", 0),
        ("NVIDIA A100-SXM4-80GB", "sm_80", 1),
    ]
    assert gpus[0].vram_gb == 80 and gpus[0].vram_free_gb == 79

    def no_driver():
        raise RuntimeError("NVML Shared Library Not Found")

    monkeypatch.setattr(fake, "nvmlInit", no_driver)
    assert hardware._gpus_nvml() is None  # no driver: not an error, just no NVML
