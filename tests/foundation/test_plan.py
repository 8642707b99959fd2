"""`forge plan` over machines described as data: fits, differs where it should, is stable."""

from __future__ import annotations

import json
import random

import pytest
import yaml

from forge.catalog.memory import GIB
from forge.catalog.plan import make_plan, plan_config
from forge.config import load_config
from forge.errors import ForgeError

MACHINES = {
    "cpu-16gb": {"gpus": [], "ram_gb": 16, "cpu_cores": 8},
    "gpu-8gb": {
        "gpus": [{"name": "NVIDIA GeForce RTX 3070", "vram_gb": 8, "compute_capability": "8.6"}],
        "ram_gb": 32,
        "cpu_cores": 8,
    },
    "gpu-24gb": {
        "gpus": [{"name": "NVIDIA GeForce RTX 4090", "vram_gb": 24, "compute_capability": "8.9"}],
        "ram_gb": 64,
        "cpu_cores": 16,
    },
    "gpu-80gb": {
        "gpus": [{"name": "NVIDIA H100 80GB HBM3", "vram_gb": 80, "compute_capability": "9.0"}],
        "ram_gb": 256,
        "cpu_cores": 32,
    },
}


@pytest.fixture(scope="module")
def chats(tmp_path_factory):
    """2,000 conversations of varied length (deterministic), as OpenAI-style JSONL."""
    rng = random.Random(0)
    words = [
        "the",
        "model",
        "learns",
        "to",
        "answer",
        "questions",
        "about",
        "data",
        "files",
        "and",
        "training",
        "runs",
    ]
    path = tmp_path_factory.mktemp("data") / "chats.jsonl"
    with open(path, "w") as f:
        for _ in range(2000):
            q = " ".join(rng.choices(words, k=rng.randint(5, 40)))
            a = " ".join(rng.choices(words, k=rng.randint(20, 400)))
            msgs = [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
            f.write(json.dumps({"messages": msgs}) + "\n")
    return path


@pytest.fixture(scope="module")
def plans(chats):
    return {name: make_plan(data=[str(chats)], hardware=hw) for name, hw in MACHINES.items()}


@pytest.mark.parametrize("machine", list(MACHINES))
def test_recommendation_fits_the_machine(plans, machine):
    p = plans[machine]
    c = p.choice
    assert c.estimate.total <= p.budget_bytes
    limit = MACHINES[machine]["gpus"][0]["vram_gb"] if MACHINES[machine]["gpus"] else 16
    assert p.budget_bytes <= limit * GIB
    assert c.hours <= p.hours_budget
    assert c.seq_len >= 256 and c.batch_size >= 1 and c.max_steps >= 1
    assert c.batch_size * c.gradient_accumulation >= 1


def test_bigger_machines_get_bigger_models(plans):
    sizes = [plans[m].choice.spec.params for m in ("gpu-8gb", "gpu-24gb", "gpu-80gb")]
    assert sizes[0] < sizes[1] < sizes[2]
    assert sizes[0] >= 3e9  # an 8 GB GPU still fine-tunes a multi-billion model (QLoRA)


def test_cpu_gets_a_tiny_model_or_a_preset_and_no_qlora(plans):
    c = plans["cpu-16gb"].choice
    assert c.method != "qlora" and c.precision == "fp32"
    assert c.spec.is_preset or c.spec.params <= 400e6
    assert plans["gpu-24gb"].choice.precision == "bf16"


def test_pre_ampere_gpus_use_fp16(chats):
    t4 = {
        "gpus": [{"name": "Tesla T4", "vram_gb": 15, "compute_capability": "7.5"}],
        "ram_gb": 32,
        "cpu_cores": 8,
    }
    p = make_plan(data=[str(chats)], hardware=t4)
    assert p.choice.precision == "fp16" and p.choice.estimate.total <= p.budget_bytes


def test_sequence_length_follows_the_data(plans, chats):
    p = plans["gpu-80gb"]
    assert p.data.rows == 2000 and p.data.kind == "chat"
    # p95 of the rows rounded up to a power of two
    assert p.choice.seq_len == 1 << (p.data.tokens["p95"] - 1).bit_length()


def test_plans_are_deterministic(chats):
    a = make_plan(data=[str(chats)], hardware=MACHINES["gpu-24gb"])
    b = make_plan(data=[str(chats)], hardware=MACHINES["gpu-24gb"])
    assert a.to_dict() == b.to_dict()


def test_model_that_fits(chats):
    p = make_plan(
        data=[str(chats)], model="Qwen/Qwen2.5-7B-Instruct", hardware=MACHINES["gpu-24gb"]
    )
    assert p.choice.spec.id == "Qwen/Qwen2.5-7B-Instruct" and p.choice.method == "lora"
    assert p.choice.estimate.total <= p.budget_bytes


def test_model_that_does_not_fit_says_what_to_change(chats):
    with pytest.raises(ForgeError) as e:
        make_plan(
            data=[str(chats)], model="meta-llama/Llama-3.1-8B-Instruct", method="full",
            hardware=MACHINES["gpu-24gb"],
        )  # fmt: skip
    assert "does not fit" in e.value.message
    assert "--method lora fits" in e.value.hint
    assert "a GPU with at least" in e.value.hint
    with pytest.raises(ForgeError, match="QLoRA needs an NVIDIA GPU"):
        make_plan(model="Qwen/Qwen2.5-0.5B-Instruct", method="qlora", hardware=MACHINES["cpu-16gb"])


def test_scratch_and_text_pick_presets(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("To be, or not to be, that is the question.\n" * 20000)
    p = make_plan(data=[str(text)], hardware={"gpus": [], "ram_gb": 16, "cpu_cores": 2})
    assert p.task == "text" and p.choice.spec.is_preset and p.choice.method == "scratch"
    cfg = plan_config(p, [str(text)])
    assert cfg.model.tokenizer == "char" and cfg.preprocessing.packing.enabled
    assert cfg.training.method == "scratch" and "lr" not in cfg.training.model_fields_set
    g = make_plan(goal="a GPT from scratch", hardware=MACHINES["gpu-24gb"])
    assert g.choice.spec.id == "gpt2-small"


def test_plan_config_is_valid_and_round_trips(plans, chats, tmp_path):
    from forge.config import save_config

    p = plans["gpu-24gb"]
    cfg = plan_config(p, [str(chats)], "a helpful assistant", MACHINES["gpu-24gb"])
    assert cfg.model.name == p.choice.spec.id and cfg.training.method == p.choice.method
    assert cfg.data.sources[0].path == str(chats)
    assert cfg.hardware.gpus[0].vram_gb == 24 and cfg.plan.why.startswith("This machine")
    path = tmp_path / "forge.yaml"
    save_config(cfg, path)
    assert load_config(path, environ={}) == cfg


def test_cli_writes_and_refuses_to_overwrite(forge_cli, chats, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hw = tmp_path / "hw.yaml"
    hw.write_text(yaml.safe_dump({"hardware": MACHINES["gpu-8gb"]}))
    args = ("plan", "--data", str(chats), "--hardware", str(hw))
    r = forge_cli(*args)
    assert r.code == 0, r
    first = (tmp_path / "forge.yaml").read_text()
    assert "wrote forge.yaml" in r.stdout and "largest that fits" in r.stdout
    again = forge_cli(*args)
    assert again.code == 1 and "already exists" in again.stderr
    forced = forge_cli(*args, "--force")
    assert forced.code == 0 and (tmp_path / "forge.yaml").read_text() == first
    js = forge_cli(*args, "--dry-run", "--json")
    out = json.loads(js.stdout)
    assert out["written"] is None and out["config"]["training"]["method"] in ("lora", "qlora")
    assert forge_cli("config", "validate").code == 0


def test_cli_model_that_does_not_fit_exits_1(forge_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hw = tmp_path / "hw.yaml"
    hw.write_text(yaml.safe_dump({"hardware": MACHINES["cpu-16gb"]}))
    r = forge_cli("plan", "--hardware", str(hw), "--model", "meta-llama/Llama-3.3-70B-Instruct")
    assert r.code == 1 and "does not fit" in r.stderr and "hint:" in r.stderr
    assert not (tmp_path / "forge.yaml").exists()


def test_real_alpaca_data(shared_data, tmp_path):
    p = make_plan(
        data=[str(shared_data / "chat" / "alpaca_5000.json")], hardware=MACHINES["gpu-24gb"]
    )
    assert p.data.kind == "instruction" and p.data.rows == 5000
    assert p.data.formats == {"alpaca": 2000}
    assert p.choice.estimate.total <= p.budget_bytes


def test_plan_works_without_torch(chats, tmp_path):
    """`forge plan` must not need torch: run it where importing torch fails."""
    import subprocess
    import sys
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src"
    code = (
        "import sys, importlib.abc, importlib.util\n"
        "GONE = ('torch', 'transformers', 'peft')\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in GONE:\n"
        "            raise ImportError(name + ' is not installed')\n"
        "sys.meta_path.insert(0, Block())\n"
        "real = importlib.util.find_spec\n"  # as when the packages are not installed at all
        "importlib.util.find_spec = lambda n, *a: None if n.split('.')[0] in GONE else real(n, *a)\n"
        "from forge.cli.app import main\n"
        f"main(['plan', '--data', {str(chats)!r}, '-o', {str(tmp_path / 'f.yaml')!r}])\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "f.yaml").exists() and "torch" not in r.stderr


def test_a_folder_without_a_shape_cannot_be_planned(tmp_path):
    (tmp_path / "tok").mkdir()
    (tmp_path / "tok" / "tokenizer_config.json").write_text('{"eos_token": "</s>"}')
    with pytest.raises(ForgeError, match="cannot size"):
        make_plan(model=str(tmp_path / "tok"), hardware=MACHINES["gpu-24gb"])


def test_cli_replans_with_the_data_of_the_current_plan(forge_cli, chats, tmp_path, monkeypatch):
    import shutil

    monkeypatch.chdir(tmp_path)
    shutil.copy(chats, tmp_path / "chats.jsonl")
    hw = tmp_path / "hw.yaml"
    hw.write_text(yaml.safe_dump({"hardware": MACHINES["gpu-24gb"]}))
    assert forge_cli("plan", "--data", "chats.jsonl", "--hardware", str(hw)).code == 0
    assert load_config(tmp_path / "forge.yaml", environ={}).data.sources[0].path == "chats.jsonl"
    r = forge_cli("plan", "--hardware", str(hw), "--method", "lora", "--force")
    assert r.code == 0 and "using the data sources of forge.yaml" in r.stderr
    cfg = load_config(tmp_path / "forge.yaml", environ={})
    assert cfg.training.method == "lora" and cfg.plan.data_rows == 2000
    (tmp_path / "sub").mkdir()
    assert (
        forge_cli("plan", "--data", "chats.jsonl", "--hardware", str(hw), "-o", "sub/f.yaml").code
        == 0
    )
    moved = load_config(tmp_path / "sub" / "f.yaml", environ={})
    assert moved.data.sources[0].path == str(tmp_path / "chats.jsonl")


def test_cli_set_values_are_written_into_the_plan(forge_cli, chats, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = forge_cli(
        "--set", "data.name=support", "--set", "hardware.gpus=[]", "--set", "hardware.ram_gb=16",
        "--set", "hardware.cpu_cores=4", "plan", "--data", str(chats),
    )  # fmt: skip
    assert r.code == 0, r
    cfg = load_config(tmp_path / "forge.yaml", environ={})
    assert cfg.data.name == "support" and cfg.hardware.ram_gb == 16
    assert cfg.plan.hardware.startswith("4 cores, 16.0 GiB RAM")
    r = forge_cli("--set", "hardware.device=cuda", "--set", "hardware.gpus=[]", "plan", "--force")
    assert r.code == 1 and "no GPU was found or described" in r.stderr


def test_method_is_respected(chats):
    full = make_plan(data=[str(chats)], method="full", hardware=MACHINES["gpu-24gb"])
    assert full.choice.method == "full" and not full.choice.spec.is_preset
    assert full.choice.estimate.total <= full.budget_bytes
    assert (
        full.choice.spec.params
        < make_plan(data=[str(chats)], hardware=MACHINES["gpu-24gb"]).choice.spec.params
    )
    with pytest.raises(ForgeError, match="QLoRA needs an NVIDIA GPU"):
        make_plan(data=[str(chats)], method="qlora", hardware=MACHINES["cpu-16gb"])


def test_dataset_names_from_paths_and_globs():
    from forge.catalog.plan import dataset_name

    assert dataset_name("data/train.jsonl") == "train"
    assert dataset_name("data/train.jsonl.gz") == "train"
    assert dataset_name("src/**/*.py") == "src"
    assert dataset_name("*.jsonl") == "dataset"
    assert dataset_name("my notes/") == "my-notes"
