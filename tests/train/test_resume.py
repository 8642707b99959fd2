"""kill -9 in the middle of training, resume: every loss is bit-identical to a run that was
never interrupted (CPU). Real processes, a real SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import yaml
from tests.train.conftest import tiny_config

ROOT = Path(__file__).resolve().parents[2]
STEPS = 120


def _forge(cfg_path: Path, *args: str, wait: bool = True):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "forge", "-q", "--config", str(cfg_path), "train", *args]
    if wait:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _losses(run_dir: Path) -> dict[int, tuple]:
    out = {}
    for line in (run_dir / "metrics.jsonl").read_bytes().splitlines():
        m = orjson.loads(line)
        if "loss" in m:
            out[m["step"]] = ("train", m["loss"], m["grad_norm"], m["lr"])
        elif "val/loss" in m:
            out[-m["step"]] = ("val", m["val/loss"])
    return out


def test_kill_9_then_resume_is_bit_identical(stdlib_corpus, tmp_path):
    cfg = tiny_config(
        stdlib_corpus, tmp_path / "runs", max_steps=STEPS, checkpoint_interval=10,
        eval_interval=40, gpt={"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 32,
                               "dropout": 0.1},
    )  # fmt: skip
    path = tmp_path / "forge.yaml"
    path.write_text(yaml.safe_dump(cfg))

    done = _forge(path, "--run-name", "straight")
    assert done.returncode == 0, done.stderr

    proc = _forge(path, "--run-name", "killed", wait=False)
    ckpts = tmp_path / "runs" / "killed" / "checkpoints"
    deadline = time.time() + 120
    while time.time() < deadline:
        steps = [int(p.name[5:]) for p in ckpts.glob("step-*")] if ckpts.is_dir() else []
        if steps and max(steps) >= 30:
            break
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    status = orjson.loads((tmp_path / "runs" / "killed" / "run.json").read_bytes())
    killed_at = status["step"]
    assert status["status"] == "running" and killed_at < STEPS  # it really died mid-run

    listed = subprocess.run(
        [sys.executable, "-m", "forge", "--config", str(path), "runs", "--json"],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, capture_output=True, text=True,
    )  # fmt: skip
    by_name = {r["name"]: r for r in orjson.loads(listed.stdout)}
    assert by_name["killed"]["status"] == "killed"

    resumed = _forge(path, "--resume", "killed")
    assert resumed.returncode == 0, resumed.stderr
    straight = _losses(tmp_path / "runs" / "straight")
    again = _losses(tmp_path / "runs" / "killed")
    assert len(straight) == STEPS + STEPS // 40
    assert again == straight  # every step's loss, grad norm, lr and every val loss, exactly
    final = orjson.loads((tmp_path / "runs" / "killed" / "run.json").read_bytes())
    assert final["status"] == "finished" and final["step"] == STEPS
