"""`forge doctor`: this machine's hardware and which optional parts of forge are usable."""

from __future__ import annotations

import typer

from forge.cli import common


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_cmd)


def doctor_cmd(json: common.JsonOpt = False) -> None:
    """Show the hardware (CPU, RAM, disk, GPUs) and the optional parts, with what to install.

    Reads the `hardware:` section of forge.yaml when there is one (overrides are marked).

    Example: forge doctor --json
    """
    from rich.table import Table

    from forge.doctor import check_all
    from forge.hardware import effective_hardware

    cfg = common.load("doctor", required=False)
    hw = effective_hardware(cfg.hardware)
    checks = check_all(hw)
    if json:
        common.print_json({"hardware": hw.to_dict(), "checks": [c.to_dict() for c in checks]})
        return
    c = common.console
    c.print("[bold]Hardware[/bold]")
    c.print(
        f"  CPU     {hw.cpu_model or '(described)'}, {hw.cpu_cores} usable cores", highlight=False
    )
    c.print(
        f"  RAM     {hw.ram_total_gb:.1f} GiB total, {hw.ram_available_gb:.1f} GiB available",
        highlight=False,
    )
    if hw.disk_free_gb is not None:
        c.print(
            f"  Disk    {hw.disk_free_gb:.1f} GiB free at {hw.disk_path or '.'}", highlight=False
        )
    for g in hw.gpus:
        extra = ", ".join(
            x for x in (g.arch, f"compute {g.compute_capability}" if g.compute_capability else "",
                        g.generation, "bf16" if g.bf16 else "") if x
        )  # fmt: skip
        c.print(f"  GPU {g.index}   {g.name}, {g.vram_gb:.1f} GiB ({extra})", highlight=False)
    if not hw.gpus:
        c.print("  GPU     " + ("Apple GPU (MPS)" if hw.mps else "none"), highlight=False)
    if hw.sources.get("gpus") not in (None, "forge.yaml"):
        c.print(f"  [dim](GPUs looked up through: {hw.sources['gpus']})[/dim]", highlight=False)
    overridden = [k for k, v in hw.sources.items() if v == "forge.yaml"]
    if overridden:
        c.print(f"  [dim](from forge.yaml: {', '.join(overridden)})[/dim]")
    c.print(f"  Trains on: [bold]{hw.device}[/bold]")
    c.print()
    table = Table("", "part", "status", "needed for", box=None, pad_edge=False)
    for ch in checks:
        mark = (
            "[green]ok[/green]"
            if ch.ok
            else ("[dim]n/a[/dim]" if not ch.applicable else "[yellow]missing[/yellow]")
        )
        table.add_row(mark, ch.name, ch.detail, ch.needed_for)
    c.print(table)
    todo = [ch for ch in checks if not ch.ok and ch.applicable and ch.install]
    if todo:
        c.print()
        c.print("[bold]To enable the missing parts[/bold]")
        for ch in todo:
            c.print(f"  {ch.name}: {ch.install}", highlight=False)
