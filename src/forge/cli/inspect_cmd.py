"""`forge inspect PATH...`: the data quality report of raw files or a prepared dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forge.cli import common


def register(app: typer.Typer) -> None:
    app.command("inspect")(inspect_cmd)


def inspect_cmd(
    paths: Annotated[
        list[str],
        typer.Argument(help="Raw files, folders or globs; or one prepared dataset folder."),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write report.json and report.html into this folder."),
    ] = None,
    tokenizer: Annotated[
        str | None,
        typer.Option(help="tokenizer.json or model folder for exact token counts (raw files)."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="Inspect at most this many rows (raw files).", min=1)
    ] = None,
    json: common.JsonOpt = False,
) -> None:
    """Data quality report: formats, missing and empty fields, duplicates, encoding problems,
    lengths and tokens, conversation shape, languages, rejections, with examples.

    Dedup settings come from forge.yaml's preprocessing.dedup when there is one.

    Example: forge inspect data/train.jsonl --out reports/train
    """
    from forge.data.report import inspect_paths, print_report, write_report

    cfg = common.load("inspect", required=False)
    common.info(f"inspecting {', '.join(paths)}")
    dedup = cfg.preprocessing.dedup
    if common.show_progress() and not json:
        import time

        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        columns = (
            SpinnerColumn(),
            TextColumn("read {task.completed:,} rows  {task.fields[rate]}"),
            TimeElapsedColumn(),
        )
        t0 = time.perf_counter()
        with Progress(*columns, console=common.err_console, transient=True) as bar:
            task = bar.add_task("rows", total=None, rate="")

            def advance(n: int) -> None:
                done = bar.tasks[0].completed + n
                rate = done / max(time.perf_counter() - t0, 1e-9)
                bar.update(task, advance=n, rate=f"{rate:,.0f} rows/s")

            report = inspect_paths(
                paths, tokenizer=tokenizer, limit=limit, dedup=dedup, on_rows=advance
            )
    else:
        report = inspect_paths(paths, tokenizer=tokenizer, limit=limit, dedup=dedup)
    if out is not None:
        j, h = write_report(report, out)
        common.info(f"wrote {j} and {h}")
    if json:
        common.print_json(report)
    else:
        print_report(report, common.console)
