"""Two CPU processes (torchrun, gloo) follow the loss curve of one process at the same global
batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import yaml
from tests.train.conftest import tiny_config

ROOT = Path(__file__).resolve().parents[2]


def _losses(run_dir: Path) -> list[float]:
    lines = [orjson.loads(x) for x in (run_dir / "metrics.jsonl").read_bytes().splitlines()]
    return [m["loss"] for m in lines if "loss" in m]


def test_two_processes_match_one(stdlib_corpus, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    runs = tmp_path / "runs"

    def run(batch: int, name: str, nproc: int) -> subprocess.CompletedProcess:
        cfg = tiny_config(stdlib_corpus, runs, max_steps=12, batch_size=batch, eval_interval=6)
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                    f"--nproc-per-node={nproc}"] if nproc > 1 else [sys.executable]  # fmt: skip
        return subprocess.run(
            [*launcher, "-m", "forge", "-q", "--config", str(path), "train", "--run-name", name],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    one = run(8, "one", 1)
    assert one.returncode == 0, one.stderr
    two = run(4, "two", 2)
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = _losses(runs / "one"), _losses(runs / "two")
    assert len(a) == len(b) == 12
    assert a[-1] < a[0] - 0.3  # it learns
    for x, y in zip(a, b, strict=True):
        assert abs(x - y) < 1e-3, (a, b)
    status = orjson.loads((runs / "two" / "run.json").read_bytes())
    assert status["world_size"] == 2 and status["status"] == "finished"
    assert status["tokens_seen"] == 12 * 8 * 32
