"""The data quality report: `build_report(dataset_dir)` for a prepared dataset,
`inspect_paths(paths)` for raw files or a dataset, `write_report(report, out_dir)` for
report.json + report.html, `print_report(report)` for the terminal. See docs/quality.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from forge.errors import file_errors


def build_report(dataset_dir: Path) -> dict[str, Any]:
    """The report of a prepared dataset folder (manifest.json, rejected.jsonl, splits)."""
    from forge.data.report.dataset import dataset_report

    return dataset_report(Path(dataset_dir))


def inspect_paths(
    paths: list[str | Path],
    tokenizer: str | None = None,
    limit: int | None = None,
    dedup=None,
    on_rows=None,
) -> dict[str, Any]:
    """A prepared dataset folder (one path with manifest.json) or raw files, folders, globs."""
    from forge.data.report.raw import inspect_raw, is_dataset_dir

    if len(paths) == 1 and is_dataset_dir(paths[0]):
        return build_report(Path(paths[0]))
    return inspect_raw(
        [str(p) for p in paths], tokenizer=tokenizer, dedup=dedup, limit=limit, on_rows=on_rows
    )


def write_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write report.json and a self-contained report.html (inline SVG charts) into out_dir,
    each through a temporary name, so a reader never sees half a file."""
    from forge.data.report.html import render_html

    out = Path(out_dir)
    paths = []
    with file_errors(
        out, "write the report there", "give --out a folder forge can create or write"
    ):
        out.mkdir(parents=True, exist_ok=True)
        for name, data in (
            ("report.json", orjson.dumps(report, option=orjson.OPT_INDENT_2, default=str) + b"\n"),
            ("report.html", render_html(report).encode("utf-8")),
        ):
            tmp = out / f".{name}.tmp"
            tmp.write_bytes(data)
            tmp.replace(out / name)
            paths.append(out / name)
    return paths[0], paths[1]


def print_report(report: dict[str, Any], console=None) -> None:
    """The Rich terminal summary."""
    from forge.data.report.terminal import print_summary

    print_summary(report, console)


__all__ = ["build_report", "inspect_paths", "print_report", "write_report"]
