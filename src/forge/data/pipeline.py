"""`forge prepare`: plan -> pass 1 per shard -> global step -> pass 2 per shard -> final.

Resumable: shard outputs live in ``<out>/.work`` under the hashes of the run; a run that finds
finished shards for the same hashes reuses them, and deterministic outputs make the result
byte-identical to an uninterrupted run. Up to date: when the manifest's hashes match, nothing
is read beyond the inputs' bytes (to hash them) and the run says so.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from forge import __version__
from forge.config.schema import ForgeConfig
from forge.data import manifest as mf
from forge.data.plan import Plan, build_plan, expand
from forge.data.shardio import Ctx, atomic_write_bytes, is_done, read_stats
from forge.errors import ForgeError

WORK = ".work"


class Progress:
    """Callbacks for a progress display; the default does nothing."""

    def stage(self, name: str, total: int) -> None: ...

    def shard(self, name: str, stats: dict[str, Any]) -> None: ...

    def note(self, message: str) -> None: ...


@dataclass
class PrepareResult:
    status: str
    """built, resumed, up_to_date or dry_run."""
    out: Path
    plan: Plan | None = None
    manifest: dict[str, Any] | None = None
    changed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    sample: dict[str, Any] | None = None


def output_dir(cfg: ForgeConfig) -> Path:
    return Path(cfg.data.output_dir) / cfg.data.name


def _files(cfg: ForgeConfig) -> list[str]:
    return [p for s in cfg.data.sources for p in expand(s.path)]


def _model_hashes(cfg: ForgeConfig, kind: str) -> tuple[Any, Any]:
    from forge.data.model_side import load_template, load_tokenizer

    tok = load_tokenizer(cfg.model)
    tpl = load_template(cfg.model) if kind == "chat" else None
    return tpl, tok


def prepare(
    cfg: ForgeConfig,
    *,
    workers: int | None = None,
    executor: str | None = None,
    dry_run: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> PrepareResult:
    """Run (or resume, or skip) `forge prepare` for ``cfg``. See docs/prepare.md."""
    t0 = time.perf_counter()
    progress = progress or Progress()
    pre = cfg.preprocessing
    out = output_dir(cfg)
    if not cfg.data.sources:
        raise ForgeError(
            "no data sources: `data.sources` is empty",
            "add one, e.g. `data: {sources: [{path: data/train.jsonl}]}`, or pass PATH",
        )
    if dry_run:
        return _dry_run(cfg, out, t0)
    from forge.data.model_side import train_for_data

    vocab = cfg.training.gpt.vocab_size or 4096
    cfg = cfg.model_copy(
        update={"model": train_for_data(cfg.model, _files(cfg), out / ".tokenizers", vocab)}
    )

    inputs = mf.input_entries(_files(cfg))
    cfg_hash = mf.config_hash(cfg.data, pre, cfg.model)
    old = mf.read_manifest(out)
    if old is not None and not force:
        tpl, tok = _model_hashes(cfg, old.get("kind", "chat"))
        new = mf.hashes(inputs, cfg_hash, tpl and tpl.hash, tok.hash)
        diff = mf.changed(old, new)
        missing = [f for fs in old.get("files", {}).values() for f in fs if not (out / f).exists()]
        if missing:
            diff.append(f"missing output {missing[0]}")
        if not diff:
            if (out / WORK).exists():
                shutil.rmtree(out / WORK, ignore_errors=True)
            if pre.report and _has_report() and not (out / "report.html").exists():
                in_child(_report, out)  # a run killed after its manifest, before its report
            return PrepareResult("up_to_date", out, manifest=old, seconds=time.perf_counter() - t0)
    else:
        diff = ["no manifest"] if old is None else ["forced"]

    work = out / WORK
    run_file = work / "run.json"
    plan_file = work / "plan.json"
    resumed = False
    if run_file.exists() and plan_file.exists():
        run = orjson.loads(run_file.read_bytes())
        if run.get("inputs") == mf.digest(inputs) and run.get("config") == cfg_hash:
            plan = Plan.from_dict(orjson.loads(plan_file.read_bytes()))
            resumed = True
    if not resumed:
        plan = build_plan(cfg.data, pre)
    # load the template and tokenizer before touching any output: a mistake there stops here
    tpl, tok = _model_hashes(cfg, plan.kind)
    from forge.data.final import clear_outputs, concat_rejected, write_outputs

    if not resumed:
        if work.exists():
            shutil.rmtree(work)
        out.mkdir(parents=True, exist_ok=True)
        clear_outputs(out)
        work.mkdir(parents=True)
        atomic_write_bytes(plan_file, orjson.dumps(plan.to_dict()))
        atomic_write_bytes(
            run_file, orjson.dumps({"inputs": mf.digest(inputs), "config": cfg_hash})
        )
    from forge.data.model_side import eot_id

    if plan.kind == "pretrain" and eot_id(tok) is None:
        raise ForgeError(
            "the tokenizer has no end-of-text token to separate documents",
            "add one (e.g. <|endoftext|>) to the tokenizer, or set model.special_tokens.eos",
        )
    max_tokens = pre.filters.max_tokens or (cfg.model.max_length if plan.kind == "chat" else None)
    ctx = Ctx(plan, pre, cfg.model, str(work), str(out), max_tokens)
    n = len(plan.shards)

    from forge.exec import make_executor

    name = executor or pre.executor
    nworkers = workers or pre.workers or os.cpu_count() or 1
    ex = make_executor(name, min(nworkers, max(1, n)))
    try:
        from forge.data.pass1 import run_pass1
        from forge.data.pass2 import run_pass2

        s1 = _run_stage(ex, "pass1", run_pass1, ctx, n, progress)
        ex.release()
        gdir = work / "global"
        if not (gdir / "done").exists():
            progress.note("global step: deduplication and splits")
            in_child(_global_step, work, n, pre)
        info = orjson.loads((gdir / "done").read_bytes())
        s2 = _run_stage(ex, "pass2", run_pass2, ctx, n, progress)
    finally:
        ex.close()

    progress.note("writing outputs")
    splits = {s for st in s2 for s in st["splits"]}
    from forge.data.pass2 import token_dtype

    files, tokens = write_outputs(ctx, splits, tok, token_dtype(tok.vocab_size))
    n_rejected = concat_rejected(work, n, out)
    from forge.data.model_side import save_tokenizer

    save_tokenizer(tok, out / "tokenizer")
    files["rejected"] = ["rejected.jsonl"]
    files["tokenizer"] = ["tokenizer/tokenizer.json"]
    man = {
        "forge_version": __version__,
        "name": cfg.data.name,
        "kind": plan.kind,
        "model": cfg.model.name,
        "template": getattr(tpl, "name", None),
        "tokenizer": {
            "vocab_size": tok.vocab_size,
            "eos_token": getattr(tok, "eos_token", None),
            "eos_id": tok.eos_id,
            "eot_id": eot_id(tok) if plan.kind == "pretrain" else None,
        },
        "hashes": mf.hashes(inputs, cfg_hash, tpl and tpl.hash, tok.hash),
        "inputs": inputs,
        "sources": [
            {
                "path": s.path,
                "format": s.format,
                "confidence": s.confidence,
                "weight": s.weight,
                "files": [
                    {
                        "path": plan.files[i].path,
                        "kind": plan.files[i].kind,
                        "encoding": plan.files[i].encoding,
                        "encoding_reason": plan.files[i].encoding_reason,
                    }
                    for i in s.files
                ],
            }
            for s in plan.sources
        ],
        "mask": pre.mask if plan.kind == "chat" else None,
        "max_tokens": max_tokens,
        "global_step": info,
        "counts": _counts(s1, s2),
        "rejected": n_rejected,
        "repairs": {
            "encoding_repaired": sum(s["encoding_repaired"] for s in s1),
            "artifacts_removed": sum(s["artifacts_removed"] for s in s1),
            "truncated": sum(s["truncated"] for s in s2),
        },
        "tokens": tokens,
        "files": files,
    }
    atomic_write_bytes(out / mf.MANIFEST, orjson.dumps(man, option=orjson.OPT_INDENT_2))
    if pre.report and _has_report():
        progress.note("writing the quality report")
        in_child(_report, out)
    shutil.rmtree(work, ignore_errors=True)
    return PrepareResult(
        "resumed" if resumed else "built",
        out,
        plan,
        man,
        diff,
        time.perf_counter() - t0,
    )


def _run_stage(
    ex: Any, stage: str, fn: Callable, ctx: Ctx, n: int, progress: Progress
) -> list[dict[str, Any]]:
    todo = [i for i in range(n) if not is_done(ctx.work, stage, i)]
    progress.stage(stage, n)
    for i in range(n):
        if i not in todo:
            progress.shard(stage, read_stats(ctx.work, stage, i))
    for _, stats in ex.map(fn, ctx, todo):
        progress.shard(stage, stats)
    return [read_stats(ctx.work, stage, i) for i in range(n)]


def _counts(s1: list[dict[str, Any]], s2: list[dict[str, Any]]) -> dict[str, Any]:
    counts: dict[str, Any] = {}
    for st in s1 + s2:
        for stage, c in st["counts"].items():
            acc = counts.setdefault(stage, {})
            for k, v in c.items():
                acc[k] = acc.get(k, 0) + v
    splits: dict[str, int] = {}
    for st in s2:
        for k, v in st["splits"].items():
            splits[k] = splits.get(k, 0) + v
    counts["splits"] = splits
    return counts


def in_child(fn: Callable, *args: Any) -> Any:
    """Run a one-process step (global step, report) in a forked child: the memory it takes
    (DuckDB's buffers, the report's tables) goes back to the system when it ends, instead of
    staying in this process through the passes that follow. Errors propagate."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from forge.exec.local import die_with_parent

    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(method)
    with ProcessPoolExecutor(
        1, mp_context=ctx, initializer=die_with_parent, initargs=(os.getpid(),)
    ) as pool:
        return pool.submit(fn, *args).result()


def _global_step(work: Path, n: int, pre: Any) -> None:
    import sys

    from forge.data.globalstep import run_global_retrying, write_decisions

    gdir = work / "global"
    keys = [work / "pass1" / f"shard-{i:05d}" / "keys.parquet" for i in range(n)]
    dups, splits, info = run_global_retrying(
        keys, pre, gdir / "tmp", lambda msg: print(msg, file=sys.stderr)
    )
    write_decisions(dups, splits, gdir)
    shutil.rmtree(gdir / "tmp", ignore_errors=True)
    atomic_write_bytes(gdir / "done", orjson.dumps(info, default=str))


def _has_report() -> bool:
    import importlib.util

    return importlib.util.find_spec("forge.data.report") is not None


def _report(out: Path) -> None:
    from forge.data.report import build_report, write_report

    write_report(build_report(out), out)


def _dry_run(cfg: ForgeConfig, out: Path, t0: float) -> PrepareResult:
    """The plan, and what pass 1 would do to each source's sample, without writing."""
    from forge.data.sample import sample_counts

    plan = build_plan(cfg.data, cfg.preprocessing)
    return PrepareResult(
        "dry_run",
        out,
        plan,
        seconds=time.perf_counter() - t0,
        sample=sample_counts(plan, cfg.preprocessing),
    )
