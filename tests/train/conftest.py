"""Fixtures for the train tests: a corpus found on every machine, tiny configs."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

TINY_GPT = {"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 32}


@pytest.fixture(scope="session")
def stdlib_corpus(tmp_path_factory) -> Path:
    """About 150 kB of Python standard library source (present wherever Python is)."""
    src = Path(sysconfig.get_paths()["stdlib"])
    parts = []
    for name in ("textwrap.py", "string.py", "shlex.py", "fnmatch.py", "glob.py", "difflib.py"):
        p = src / name
        if p.is_file():
            parts.append(p.read_text(encoding="utf-8"))
    text = "\n".join(parts)
    assert len(text) > 50_000
    path = tmp_path_factory.mktemp("corpus") / "stdlib.txt"
    path.write_text(text, encoding="utf-8")
    return path


def tiny_config(data: Path, out: Path, **training) -> dict:
    """A forge.yaml dict for a tiny, fast run."""
    t = {
        "data": str(data),
        "output_dir": str(out),
        "max_steps": 20,
        "batch_size": 4,
        "warmup_steps": 5,
        "eval_interval": 10,
        "eval_batches": 2,
        "checkpoint_interval": 10,
        "num_threads": 1,
        "gpt": dict(TINY_GPT),
    }
    t.update(training)
    return {"model": {"name": "char-tiny"}, "training": t}
