"""Run folders: finding them, their status file, and loading a trained model back.

```
runs/<run>/
  run.json          status, step, best val loss, tokens seen, pid (updated as it trains)
  config.yaml       the forge.yaml the run was started with (resume reads it back)
  resolved.json     the effective training config and model architecture
  tokenizer.json    the tokenizer (also inside every checkpoint, with its hash)
  metrics.jsonl     one line per step and per evaluation
  samples.jsonl     periodic samples
  loss.png          the loss curves, redrawn at each evaluation
  checkpoints/step-NNNNNNN/
  tensorboard/      when tracking.tensorboard
```
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import orjson

from forge.errors import ForgeError
from forge.train.checkpoint import list_checkpoints, read_meta


def write_status(run_dir: Path, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into run.json (atomically) and return the whole status."""
    path = run_dir / "run.json"
    status = read_status(run_dir)
    status.update(fields, updated=time.time())
    tmp = path.with_name(f"run.json.{os.getpid()}.tmp")
    tmp.write_bytes(orjson.dumps(status, option=orjson.OPT_INDENT_2))
    os.replace(tmp, path)
    return status


def read_status(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "run.json"
    if not path.is_file():
        return {}
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        return {}


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def effective_status(status: dict[str, Any]) -> str:
    """``running`` only while its process lives; a dead running run was killed."""
    s = status.get("status", "unknown")
    if s == "running" and not _alive(status.get("pid")):
        return "killed"
    return s


def is_run(path: Path) -> bool:
    return (path / "run.json").is_file()


def list_runs(output_dir: str | Path) -> list[dict[str, Any]]:
    """Every run under ``output_dir``, newest first, with its status."""
    root = Path(output_dir)
    if not root.is_dir():
        return []
    out = []
    for p in root.iterdir():
        if p.is_dir() and is_run(p):
            st = read_status(p)
            st["name"] = p.name
            st["path"] = str(p)
            st["status"] = effective_status(st)
            st["checkpoints"] = [s for s, _ in list_checkpoints(p)]
            out.append(st)
    return sorted(out, key=lambda s: s.get("created", 0), reverse=True)


def find_run(spec: str, output_dir: str | Path) -> Path:
    """A run by path, by name under ``output_dir``, or ``auto``: the newest run that has a
    checkpoint and did not finish."""
    root = Path(output_dir)
    if spec == "auto":
        for st in list_runs(root):
            if st["checkpoints"] and st["status"] not in ("finished", "stopped_early"):
                return Path(st["path"])
        raise ForgeError(
            f"{root}: no unfinished run with a checkpoint to resume",
            "start a new run with `forge train`, or name the run: --resume RUN",
        )
    for cand in (Path(spec), root / spec):
        if cand.is_dir() and is_run(cand):
            return cand
    known = [st["name"] for st in list_runs(root)][:5]
    raise ForgeError(
        f"run '{spec}' not found (looked in {root})",
        f"known runs: {', '.join(known)}" if known else "`forge runs` lists runs",
    )


def pick_checkpoint(run_dir: Path, which: str = "best") -> Path:
    """``best``, ``last``, or a step number."""
    ckpts = list_checkpoints(run_dir)
    if not ckpts:
        raise ForgeError(
            f"{run_dir}: no checkpoint yet", "train longer, or wait for the first save"
        )
    if which == "last":
        return ckpts[-1][1]
    if which == "best":
        best = read_status(run_dir).get("best_step")
        for s, p in ckpts:
            if s == best:
                return p
        return ckpts[-1][1]
    try:
        step = int(which)
    except ValueError:
        raise ForgeError(
            f"--checkpoint {which}: expected best, last or a step", "e.g. --checkpoint last"
        ) from None
    for s, p in ckpts:
        if s == step:
            return p
    raise ForgeError(
        f"{run_dir}: no checkpoint at step {step}", f"saved steps: {[s for s, _ in ckpts]}"
    )


def load_model(run_dir: str | Path, which: str = "best", device: str = "cpu", tokenizer=None):
    """(model, tokenizer, checkpoint folder) of a run, ready for eval or generation.

    A ``tokenizer`` given explicitly must be the one the run was trained with."""
    from forge.registry import get
    from forge.train.checkpoint import check_tokenizer, checkpoint_tokenizer, load_weights
    from forge.train.model import GPTConfig

    ckpt = pick_checkpoint(Path(run_dir), which)
    meta = read_meta(ckpt)
    if tokenizer is None:
        tokenizer = checkpoint_tokenizer(ckpt)
    else:
        check_tokenizer(ckpt, tokenizer)
    cfg = GPTConfig.from_dict(meta["model"])
    model = get("model", meta.get("model_type", "gpt"))(cfg)
    load_weights(ckpt, model)
    return model.to(device).eval(), tokenizer, ckpt
