"""`forge plan`: pick the model, method and settings that fit this machine and data."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from forge.cli import common


class Method(str, Enum):
    full = "full"
    lora = "lora"
    qlora = "qlora"
    scratch = "scratch"


def register(app: typer.Typer) -> None:
    app.command("plan")(plan_cmd)


def _hardware_section(path: Path | None) -> dict | None:
    """`--hardware FILE`: a YAML file with a `hardware:` section (or just its keys)."""
    from forge.config import CURRENT_VERSION, ForgeConfig, apply_overrides, validate
    from forge.config.loader import read_yaml
    from forge.errors import ConfigError

    section: dict = {}
    if path is not None:
        data, _ = read_yaml(path)
        if "hardware" in data:
            section = data["hardware"]
        elif data.keys() & ForgeConfig.model_fields.keys():
            raise ConfigError(
                f"{path}: no `hardware:` section",
                "add one (`forge doctor --json` shows its keys), or give a file of just those keys",
            )
        else:
            section = data
    # FORGE_HARDWARE__* and --set hardware.*=... apply on top, as for every command.
    section = apply_overrides({"hardware": section}, common.STATE.sets).get("hardware")
    if not section:
        return None
    validate({"version": CURRENT_VERSION, "hardware": section}, str(path or "--set"))
    return section


def plan_cmd(
    goal: Annotated[
        str | None, typer.Option("--goal", "-g", help="What the model is for, in words.")
    ] = None,
    data: Annotated[
        list[str] | None,
        typer.Option("--data", "-d", help="Raw data: a file, folder or glob (repeatable)."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Check this model (catalog name, folder or preset)."),
    ] = None,
    method: Annotated[
        Method | None, typer.Option("--method", help="Training method (default: best that fits).")
    ] = None,
    hardware: Annotated[
        Path | None,
        typer.Option(
            "--hardware", help="Plan for the machine described in this YAML (a hardware: section)."
        ),
    ] = None,
    max_length: Annotated[
        int | None, typer.Option("--max-length", min=16, help="Sequence length to use.")
    ] = None,
    hours: Annotated[
        float, typer.Option("--hours", min=0.01, help="Training time budget in hours.")
    ] = 12.0,
    tokenizer: Annotated[
        Path | None,
        typer.Option(
            "--tokenizer", help="A tokenizer.json (or a model folder) for exact token counts."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write (default: --config).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan, write nothing.")
    ] = False,
    json: common.JsonOpt = False,
) -> None:
    """Pick the largest model, method, batch size and sequence length that fit, and write forge.yaml.

    Reads the hardware (or --hardware), samples the data, estimates memory and time, and
    explains the choice. Non-interactive and deterministic.

    Example: forge plan --data chats.jsonl --goal "a support assistant"
    """
    from forge.catalog.plan import explain, make_plan, plan_config
    from forge.config import dump_config, save_config
    from forge.errors import ForgeError

    out = output or common.STATE.config
    if out.exists() and not force and not dry_run:
        raise ForgeError(
            f"{out} already exists; forge plan does not overwrite it",
            "pass --force to replace it, or -o another.yaml",
        )
    data = list(data or [])
    if not data and out.exists():  # re-planning: the data the current plan names
        from forge.config import load_config

        try:
            existing = load_config(out, common.STATE.sets)
        except ForgeError:
            existing = None
        if existing is not None and existing.data.sources:
            data = [s.path for s in existing.data.sources]
            common.info(f"using the data sources of {out}")
    section = _hardware_section(hardware)
    from forge.config.hardware import HardwareConfig

    hw_cfg = HardwareConfig.model_validate(section) if section else None
    plan = make_plan(
        goal=goal,
        data=data,
        model=model,
        method=method.value if method else None,
        hardware=hw_cfg,
        max_length=max_length,
        hours=hours,
        tokenizer=str(tokenizer) if tokenizer else None,
    )
    cfg = plan_config(plan, _relative_to(data, out), goal, section)
    if common.STATE.sets:  # `forge --set data.name=x plan ...`: written into the plan
        from forge.config import apply_overrides, validate

        raw = apply_overrides(
            cfg.model_dump(mode="json", exclude_unset=True), common.STATE.sets, {}
        )
        cfg = validate(raw, "--set")
    why = explain(plan)
    written = None
    if not dry_run:
        save_config(cfg, out)
        written = str(out)
    if json:
        common.print_json(
            {"plan": plan.to_dict(), "why": why, "config": cfg.model_dump(mode="json",
             exclude_unset=True), "written": written}
        )  # fmt: skip
        return
    _print(plan, why, written, dump_config(cfg) if dry_run else None)


def _relative_to(paths: list[str], config: Path) -> list[str]:
    """Data paths for forge.yaml: as given when the file is in the working directory (where
    commands resolve relative paths); absolute otherwise, so they mean the same from anywhere."""
    import os

    if config.resolve().parent == Path.cwd().resolve():
        return list(paths)
    return [p if os.path.isabs(p) else os.path.abspath(p) for p in paths]


def _print(plan, why: str, written: str | None, text: str | None) -> None:
    from rich.panel import Panel
    from rich.table import Table

    c = plan.choice
    est = c.estimate
    t = Table(box=None, show_header=False, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    t.add_row("model", f"{c.spec.requested or c.spec.id}  ({c.spec.params / 1e9:.2f}B params)")
    t.add_row("method", c.method + (f" (lr {c.lr:g})" if c.lr else ""))
    t.add_row("device", f"{plan.hardware.device}, {c.precision}")
    t.add_row("sequence", f"{c.seq_len} tokens")
    t.add_row(
        "batch",
        f"{c.batch_size} x {c.gradient_accumulation} accumulation"
        + (", gradient checkpointing" if c.gradient_checkpointing else ""),
    )
    t.add_row(
        "steps", f"{c.max_steps:,}" + (f" ({c.epochs:g} epochs)" if c.method != "scratch" else "")
    )
    g = est.breakdown_gib()
    t.add_row(
        "memory",
        f"{g['total']:.1f} of {plan.budget_gib:.1f} GiB (weights {g['weights']}, grads "
        f"{g['gradients']}, optimizer {g['optimizer']}, activations {g['activations']}, "
        f"overhead {g['overhead']})",
    )
    t.add_row("time", f"about {c.hours:.1f} h (estimate)")
    if plan.data is not None:
        from forge.catalog.plan import char_level

        if char_level(plan):
            t.add_row("tokens", "one per character (character-level model)")
        elif plan.data.token_method != "tokenizer.json":
            t.add_row("tokens", plan.data.token_method)
    common.console.print(Panel(t, title="forge plan", expand=False))
    common.console.print(why, highlight=False)
    for w in (plan.data.warnings if plan.data else [])[:5]:
        common.info(f"[yellow]warning:[/yellow] {w}")
    if text is not None:
        common.console.print()
        typer.echo(text, nl=False)
    elif written:
        common.console.print(f"\n[green]wrote[/green] {written}; next: [bold]forge prepare[/bold]")
