"""`forge config validate | show | schema | migrate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forge.cli import common
from forge.errors import file_errors

config_app = typer.Typer(help="Check, show and migrate forge.yaml.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


@config_app.command("validate")
def validate_cmd(json: common.JsonOpt = False) -> None:
    """Check forge.yaml: every problem with its line and key.

    Example: forge config validate --config my.yaml
    """
    cfg = common.load("config validate")
    if json:
        common.print_json({"ok": True, "path": str(common.STATE.config), "version": cfg.version})
    else:
        common.console.print(
            f"[green]ok[/green] {common.STATE.config} is valid (version {cfg.version})"
        )


@config_app.command("show")
def show_cmd(json: common.JsonOpt = False) -> None:
    """Print the effective config: the file, env and --set overrides, and every default.

    Example: forge --set training.lr=1e-4 config show
    """
    from forge.config import dump_config

    cfg = common.load("config show", required=False)
    if json:
        common.print_json(cfg.model_dump(mode="json"))
    else:
        typer.echo(dump_config(cfg, full=True), nl=False)


@config_app.command("schema")
def schema_cmd(
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write to this file.")
    ] = None,
) -> None:
    """Print the JSON Schema of forge.yaml (for editor completion and validation).

    Example: forge config schema -o forge.schema.json
    """
    import orjson

    from forge.config import ForgeConfig

    _emit(
        orjson.dumps(ForgeConfig.model_json_schema(), option=orjson.OPT_INDENT_2).decode() + "\n",
        output,
    )


@config_app.command("migrate")
def migrate_cmd(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the new file instead of writing it.")
    ] = False,
) -> None:
    """Rewrite an older forge.yaml in the current layout (a .bak copy is kept).

    Example: forge config migrate
    """
    import shutil

    from forge.config import CURRENT_VERSION, dump_config, migrate, validate
    from forge.config.loader import read_yaml
    from forge.errors import NoPlanError

    path = common.STATE.config
    if not path.exists():
        raise NoPlanError(str(path), "config migrate")
    data, _ = read_yaml(path)
    old = data.get("version", 0)
    if old == CURRENT_VERSION:
        common.console.print(f"{path} is already version {CURRENT_VERSION}; nothing to do")
        return
    from forge.config.loader import key_lines

    notices: list[str] = []
    cfg = validate(
        migrate(data, str(path), notices, key_lines(path.read_text("utf-8-sig"))), str(path)
    )
    for n in notices:
        common.info(f"[yellow]notice:[/yellow] {n}")
    text = dump_config(cfg)
    if dry_run:
        typer.echo(text, nl=False)
        return
    with file_errors(path, "rewrite", "check the file and its folder are writable"):
        shutil.copyfile(path, path.with_name(path.name + ".bak"))
        path.write_text(text, encoding="utf-8")
    common.console.print(
        f"migrated {path} from version {old} to {CURRENT_VERSION} (old file kept as {path.name}.bak)"
    )


OutputOpt = Annotated[str | None, typer.Option("--output", "-o", help="Write to this file.")]


def _emit(text: str, output: str | None) -> None:
    """Print ``text``, or write it to ``output``."""
    if output:
        with file_errors(output, "write", "choose a writable file path in an existing folder"):
            Path(output).write_text(text, encoding="utf-8")
        common.info(f"wrote {output}")
    else:
        typer.echo(text, nl=False)


@config_app.command("docs")
def docs_cmd(output: OutputOpt = None) -> None:
    """Print the forge.yaml reference (every key, type, default, description) as Markdown.

    Example: forge config docs -o docs/config.md
    """
    from forge.config.docs import render_markdown

    _emit(render_markdown(), output)
