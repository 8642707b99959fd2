"""`forge models list | show`: the model catalog and the forge GPT presets."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from forge.cli import common

models_app = typer.Typer(help="The model catalog and forge GPT presets.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")


def _row(spec) -> dict:
    d = dataclasses.asdict(spec)
    d.pop("extra", None)
    d["aliases"] = list(spec.aliases)
    return d


@models_app.command("list")
def list_cmd(
    filter_: Annotated[
        str | None, typer.Argument(metavar="FILTER", help="Only ids or families containing this.")
    ] = None,
    json: common.JsonOpt = False,
) -> None:
    """List catalog models and presets (id, family, template, size, context).

    Example: forge models list qwen
    """
    from rich.table import Table

    from forge.catalog import all_models, presets

    specs = [*presets(), *all_models()]
    if filter_:
        f = filter_.lower()
        specs = [s for s in specs if f in s.id.lower() or f in s.family.lower()]
    if json:
        common.print_json([_row(s) for s in specs])
        return
    table = Table("id", "family", "template", "params", "context", box=None, pad_edge=False)
    for s in specs:
        table.add_row(
            s.id, s.family, s.template or "-", f"{s.params / 1e9:.2f}B", str(s.context_length)
        )
    common.console.print(table)


@models_app.command("show")
def show_cmd(name: str, json: common.JsonOpt = False) -> None:
    """Resolve a name (any spelling, a quantized repack, a folder, a preset) and show its facts.

    Example: forge models show TheBloke/Mistral-7B-Instruct-v0.2-GPTQ
    """
    from forge.catalog import find

    spec = find(name)
    row = _row(spec)
    if json:
        common.print_json(row)
        return
    for key, value in row.items():
        if value not in (None, 0, (), [], {}):
            common.console.print(f"[bold]{key}[/bold]: {value}", highlight=False)
