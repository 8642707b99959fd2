"""`forge prepare`: raw data -> data/<name>/ (manifest, splits, tokens, rejected rows)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from forge.cli import common


def register(app: typer.Typer) -> None:
    app.command("prepare")(prepare_cmd)


class _RichProgress:
    """Shard progress with rows/s, tokens/s and ETA (only at a terminal)."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.p = Progress(
            TextColumn("{task.description:<7}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("shards  {task.fields[rows]:>10,} rows  {task.fields[rate]}"),
            TimeRemainingColumn(),
            console=common.err_console,
            transient=False,
        )
        self.task: Any = None
        self.rows = self.tokens = 0
        self.t0 = time.perf_counter()

    def stage(self, name: str, total: int) -> None:
        if self.task is None:
            self.p.start()
        self.rows = self.tokens = 0
        self.t0 = time.perf_counter()
        self.task = self.p.add_task(name, total=total, rows=0, rate="")

    def shard(self, name: str, stats: dict[str, Any]) -> None:
        c = stats["counts"]
        self.rows += c["read"]["in"] if "read" in c else c["dedup"]["in"]
        self.tokens += sum(stats.get("tokens", {}).values())
        dt = max(1e-6, time.perf_counter() - self.t0)
        rate = f"{self.rows / dt:,.0f} rows/s"
        if self.tokens:
            rate += f"  {self.tokens / dt:,.0f} tok/s"
        self.p.update(self.task, advance=1, rows=self.rows, rate=rate)

    def note(self, message: str) -> None:
        self.p.console.print(f"[dim]{message}[/dim]")

    def close(self) -> None:
        if self.task is not None:
            self.p.stop()


def prepare_cmd(
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Raw data files, folders or globs (instead of data.sources)."),
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Output folder (data.output_dir).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Dataset name (data.name).")] = None,
    tokenizer: Annotated[
        str | None,
        typer.Option("--tokenizer", help="A model folder or tokenizer.json (model.tokenizer)."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", help="Worker processes (default: all cores).")
    ] = None,
    executor: Annotated[
        str | None, typer.Option("--executor", help="local (default) or ray.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan and a sample's outcome; write nothing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even when the output is up to date.")
    ] = False,
    json: common.JsonOpt = False,
) -> None:
    """Clean, deduplicate, split, template and tokenize raw data into data/<name>/.

    Reruns with nothing changed do nothing; a killed run resumes where it stopped.

    Example: forge prepare data/chat.jsonl --tokenizer models/tok.json --workers 4
    """
    from forge.data.pipeline import prepare

    cfg = common.load("prepare", required=not paths)
    updates: dict[str, Any] = {}
    if paths:
        updates["sources"] = [{"path": p} for p in paths]
    if output:
        updates["output_dir"] = output
    if name:
        updates["name"] = name
    if updates:
        cfg = cfg.model_copy(
            update={"data": cfg.data.model_validate(cfg.data.model_dump() | updates)}
        )
    if tokenizer:
        cfg = cfg.model_copy(
            update={
                "model": cfg.model.model_validate(cfg.model.model_dump() | {"tokenizer": tokenizer})
            }
        )
    if executor and executor not in ("local", "ray"):
        from forge.errors import ForgeError

        raise ForgeError(f"unknown executor '{executor}'", "use --executor local or --executor ray")
    prog = _RichProgress() if common.show_progress() and not json and not dry_run else None
    try:
        result = prepare(
            cfg, workers=workers, executor=executor, dry_run=dry_run, force=force, progress=prog
        )
    finally:
        if prog is not None:
            prog.close()
    if json:
        common.print_json(_as_json(result))
        return
    if result.status == "dry_run":
        _print_plan(result)
    elif result.status == "up_to_date":
        common.console.print(
            f"[green]up to date[/green]: {result.out} matches its inputs, config, template and "
            f"tokenizer; nothing to do ({result.seconds:.2f}s). Use --force to rebuild."
        )
    else:
        _print_summary(result)


def _as_json(result: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "status": result.status,
        "output": str(result.out),
        "seconds": round(result.seconds, 3),
        "changed": result.changed,
    }
    if result.plan is not None:
        d["plan"] = result.plan.to_dict()
    if result.sample is not None:
        d["sample"] = result.sample
    if result.manifest is not None:
        d["manifest"] = result.manifest
    return d


def _print_plan(result: Any) -> None:
    from rich.table import Table

    plan = result.plan
    t = Table(title=f"forge prepare --dry-run -> {result.out} ({plan.kind})")
    for col in ("source", "files", "format", "confidence", "encoding", "sample kept", "rejected"):
        t.add_column(col, overflow="fold")
    for s in plan.sources:
        smp = result.sample.get(s.path, {})
        encs = sorted({plan.files[i].encoding or "?" for i in s.files})
        t.add_row(
            s.path,
            str(len(s.files)),
            s.format,
            f"{s.confidence:.0%}",
            ", ".join(encs),
            f"{smp.get('kept', 0)}/{smp.get('rows', 0)}",
            ", ".join(f"{k} {v}" for k, v in smp.get("rejected", {}).items()) or "-",
        )
    common.console.print(t)
    common.console.print(f"{len(plan.shards)} shards; nothing was written.")


def _print_summary(result: Any) -> None:
    from rich.table import Table

    m = result.manifest
    t = Table(title=f"forge prepare -> {result.out} ({m['kind']}, {result.status})")
    for col in ("stage", "in", "out", "rejected"):
        t.add_column(col, justify="right" if col != "stage" else "left")
    for stage in ("read", "normalize", "clean", "filter", "dedup", "sample", "encode"):
        c = m["counts"].get(stage)
        if c:
            t.add_row(stage, f"{c['in']:,}", f"{c['out']:,}", f"{c['rejected']:,}")
    common.console.print(t)
    s = Table(title="splits")
    for col in ("split", "rows", "tokens", "p50", "p95", "max"):
        s.add_column(col, justify="right" if col != "split" else "left")
    for split, n in m["counts"]["splits"].items():
        tk = m["tokens"].get(split, {})
        s.add_row(
            split,
            f"{n:,}",
            f"{tk.get('total', 0):,}",
            str(tk.get("p50", "-")),
            str(tk.get("p95", "-")),
            str(tk.get("max", "-")),
        )
    common.console.print(s)
    rows = m["counts"].get("read", {}).get("in", 0)
    common.console.print(
        f"{rows:,} rows in {result.seconds:.1f}s ({rows / max(result.seconds, 1e-9):,.0f} rows/s); "
        f"{m['rejected']:,} rejected -> {Path(result.out) / 'rejected.jsonl'}"
    )
