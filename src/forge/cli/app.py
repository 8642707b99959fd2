"""The `forge` Typer app: global options, command groups, and the error boundary."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from forge import __version__
from forge.cli import common
from forge.errors import ForgeError

app = typer.Typer(
    name="forge",
    help="Forge: from raw data to a trained language model on your own machine.\n\n"
    "Workflow: forge plan -> forge prepare -> forge train -> forge generate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"forge {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Path to forge.yaml.", envvar="FORGE_CONFIG")
    ] = Path("forge.yaml"),
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config key: --set training.lr=3e-4 (repeatable)."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only results and errors.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Print more detail.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    common.STATE.config = config
    common.STATE.sets = list(set_ or [])
    common.STATE.quiet = quiet
    common.STATE.verbose = verbose


def _register() -> None:
    """Attach every command group. Each module exposes `register(app)`."""
    from forge.cli import (
        config_cmd,
        doctor_cmd,
        index_cmd,
        inspect_cmd,
        models_cmd,
        plan_cmd,
        prepare_cmd,
        template_cmd,
        train_cmd,
    )

    for module in (
        plan_cmd,
        prepare_cmd,
        inspect_cmd,
        template_cmd,
        train_cmd,
        index_cmd,
        config_cmd,
        doctor_cmd,
        models_cmd,
    ):
        module.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the app; a ForgeError becomes one red line, a hint and exit code 1."""
    try:
        app(args=argv, prog_name="forge")
    except ForgeError as e:
        common.err_console.print(
            f"[bold red]error:[/bold red] {e.message}", highlight=False, markup=True
        )
        if e.hint:
            common.err_console.print(f"[dim]hint:[/dim] {e.hint}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        common.err_console.print("[red]interrupted[/red]")
        sys.exit(130)
