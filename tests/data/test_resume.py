"""kill -9 at several points of `forge prepare`, run again: the outputs are byte-identical to an
uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from .helpers import tree_digest

ROOT = Path(__file__).resolve().parents[2]


def _write_inputs(tmp: Path) -> Path:
    words = [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "zeta",
        "eta",
        "theta",
        "iota",
        "kappa",
        "lambda",
        "mu",
    ]
    lines = []
    for i in range(3000):
        text = " ".join(words[(i * k) % len(words)] for k in range(1, 3 + i % 9))
        row = {
            "messages": [
                {"role": "user", "content": f"{i} {text}?"},
                {"role": "assistant", "content": f"{text} {i}."},
            ]
        }
        lines.append(json.dumps(row))
        if i % 97 == 0:
            lines.append(json.dumps(row))  # a duplicate
        if i % 113 == 0:
            lines.append("{broken")
    path = tmp / "docs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _config(tmp: Path, data: Path, model: Path, out: Path) -> Path:
    cfg = {
        "version": 1,
        "model": {"name": str(model)},
        "data": {"name": "ds", "output_dir": str(out), "sources": [{"path": str(data)}]},
        "preprocessing": {"workers": 1, "shard_rows": 300, "split": {"validation": 0.1}},
    }
    path = tmp / f"forge-{out.name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _cmd(cfg: Path) -> list[str]:
    return [sys.executable, "-m", "forge", "--config", str(cfg), "--quiet", "prepare"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _no_orphans(cfg: Path) -> None:
    """The workers and forked steps of a killed run die with it."""
    import psutil

    deadline = time.time() + 5
    while True:
        left = [
            p
            for p in psutil.process_iter(["cmdline"])
            if str(cfg) in " ".join(p.info["cmdline"] or [])
        ]
        if not left or time.time() > deadline:
            break
        time.sleep(0.05)
    assert not left, [p.pid for p in left]


def _run_until(cfg: Path, ready) -> bool:
    """Start prepare, SIGKILL it as soon as ``ready()``; False if it finished first."""
    proc = subprocess.Popen(
        _cmd(cfg), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    while proc.poll() is None:
        if ready():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            _no_orphans(cfg)
            return True
        time.sleep(0.002)
    assert proc.returncode == 0, proc.stderr.read().decode()[-2000:]
    return False


@pytest.mark.slow
def test_sigkill_at_several_points_gives_identical_bytes(tmp_path, model_dir):
    data = _write_inputs(tmp_path)
    ref_out = tmp_path / "ref"
    subprocess.run(_cmd(_config(tmp_path, data, model_dir, ref_out)), env=_env(), check=True)
    reference = tree_digest(ref_out / "ds")
    assert {"manifest.json", "train.parquet", "validation.parquet", "rejected.jsonl"} <= set(
        reference
    )

    out = tmp_path / "killed"
    cfg = _config(tmp_path, data, model_dir, out)
    work = out / "ds" / ".work"
    points = [
        lambda: (work / "plan.json").exists(),
        lambda: (work / "pass1" / "shard-00003.tmp").exists(),
        lambda: (work / "pass1" / "shard-00007").exists(),
        lambda: (work / "global" / "done").exists(),
        lambda: (work / "pass2" / "shard-00002.tmp").exists(),
        lambda: (work / "pass2" / "shard-00008").exists(),
        lambda: (out / "ds" / "rejected.jsonl").exists(),
        lambda: (out / "ds" / "manifest.json").exists(),
    ]
    killed = sum(_run_until(cfg, p) for p in points)
    assert killed >= 5  # most points were hit before the run could finish
    subprocess.run(_cmd(cfg), env=_env(), check=True)
    assert tree_digest(out / "ds") == reference
    assert (out / "ds" / "report.html").is_file()
