"""What every command shares: the global options, the consoles, JSON output, loading config."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from forge.errors import NoPlanError


@dataclass
class State:
    config: Path = Path("forge.yaml")
    sets: list[str] = field(default_factory=list)
    quiet: bool = False
    verbose: bool = False


STATE = State()
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def print_json(obj: Any) -> None:
    """Machine-readable output: one JSON document on stdout."""
    sys.stdout.write(
        orjson.dumps(
            obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY, default=str
        ).decode()
    )
    sys.stdout.write("\n")
    sys.stdout.flush()


def info(msg: str) -> None:
    """A line for a person, on stderr; silent under --quiet."""
    if not STATE.quiet:
        err_console.print(msg)


def debug(msg: str) -> None:
    if STATE.verbose:
        err_console.print(f"[dim]{msg}[/dim]")


def show_progress() -> bool:
    """Progress bars only for a person at a terminal."""
    return not STATE.quiet and sys.stderr.isatty()


def load(command: str, required: bool = True):
    """The effective ForgeConfig for ``command`` (file + env + --set), notices printed.

    Without forge.yaml: a NoPlanError when ``required``, else the defaults (with overrides).
    """
    from forge.config import apply_overrides, load_config, validate

    path = STATE.config
    if not path.exists():
        if required:
            raise NoPlanError(str(path), command)
        origins: dict[tuple, str] = {}
        return validate(apply_overrides({}, STATE.sets, origins=origins), "--set", "", origins)
    notices: list[str] = []
    cfg = load_config(path, STATE.sets, notices=notices)
    for n in notices:
        info(f"[yellow]notice:[/yellow] {n}")
    return cfg
