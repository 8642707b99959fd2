"""Training progress for a person: a Rich progress bar with ETA at a terminal, plain lines
otherwise, nothing under --quiet."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class ConsoleReporter:
    def __init__(self, enabled: bool = True, bar: bool | None = None, log_interval: int = 10):
        self.enabled = enabled
        self.console = Console(stderr=True, soft_wrap=True)
        self.bar = enabled and (sys.stderr.isatty() if bar is None else bar)
        self.log_interval = log_interval
        self.progress: Progress | None = None
        self.task = None

    def start(self, total: int, done: int, title: str) -> None:
        if not self.enabled:
            return
        if self.bar:
            self.progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self.progress.start()
            self.task = self.progress.add_task(title, total=total, completed=done, stats="")
        else:
            self.console.print(f"{title}: step {done}/{total}")

    def log(self, metrics: dict[str, Any], step: int) -> None:
        if not self.enabled:
            return
        stats = f"loss {metrics['loss']:.4f} lr {metrics['lr']:.2e} {metrics['tokens_per_sec']:,.0f} tok/s"
        if metrics.get("mfu") is not None:
            stats += f" mfu {metrics['mfu']:.1%}"
        if self.progress is not None:
            self.progress.update(self.task, completed=step, stats=stats)
        elif step % self.log_interval == 0:
            self.console.print(f"step {step}: {stats}", highlight=False)

    def message(self, text: str) -> None:
        if self.enabled:
            self.console.print(text, highlight=False)

    def log_text(self, name: str, text: str, step: int) -> None:
        self.message(f"[dim]sample @ {step} ({name}):[/dim] {text!r}")

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
