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
    report = inspect_paths(paths, tokenizer=tokenizer, limit=limit, dedup=cfg.preprocessing.dedup)
    if out is not None:
        j, h = write_report(report, out)
        common.info(f"wrote {j} and {h}")
    if json:
        common.print_json(report)
    else:
        print_report(report, common.console)
