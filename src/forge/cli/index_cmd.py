"""`forge index` (build, update, watch, status) and `forge search`."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from forge.cli import common
from forge.errors import ForgeError

if TYPE_CHECKING:
    from rich.text import Text

    from forge.config.index import IndexConfig
    from forge.index import Index, UpdateReport

DbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db", help="The index file (default: index.path in forge.yaml, .forge/index.db)."
    ),
]


def register(app: typer.Typer) -> None:
    app.command("index")(index_cmd)
    app.command("search")(search_cmd)


def _config(db: Path | None) -> IndexConfig:
    cfg = common.load("index", required=False).index
    return cfg.model_copy(update={"path": str(db)}) if db else cfg


def _open(db: Path | None) -> Index:
    from forge.index import Index

    cfg = _config(db)
    return Index(cfg.path, config=cfg)


def index_cmd(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Markdown files or folders (default: those of the last run)."),
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", help="Keep updating while files change (Ctrl-C stops).")
    ] = False,
    status: Annotated[
        bool, typer.Option("--status", help="List new, changed and deleted files; change nothing.")
    ] = False,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Start from an empty index (e.g. a new embedder).")
    ] = False,
    db: DbOpt = None,
    json: common.JsonOpt = False,
) -> None:
    """Build or update the markdown index: only new and changed files are embedded again.

    Example: forge index docs/ notes/ && forge search "how do closures capture variables"
    """
    if status and (watch or rebuild):
        raise ForgeError("--status changes nothing; it cannot go with --watch or --rebuild")
    cfg = _config(db)
    from forge.index import Index

    if rebuild:
        if not paths and Path(cfg.path).exists():  # the remembered sources, read before deleting
            with Index(cfg.path, config=cfg) as old:
                paths = old.sources()
        if not paths and not cfg.sources:
            raise ForgeError("--rebuild needs the paths to index", "forge index --rebuild PATH...")
        for suffix in ("", "-wal", "-shm"):
            Path(cfg.path + suffix).unlink(missing_ok=True)

    with Index(cfg.path, config=cfg) as idx:
        if status:
            _print_status(idx, paths, json)
        elif watch:
            _watch(idx, paths, json)
        else:
            _print_report(_update(idx, paths), json)


def _update(idx: Index, paths: list[Path] | None) -> UpdateReport:
    if not common.show_progress():
        return idx.update(paths)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("indexing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files · {task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=common.err_console, transient=True) as bar:
        task = bar.add_task("index", total=None, rate="")

        def step(done: int, total: int) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            rate = f"{done / elapsed:.1f} files/s" if elapsed > 0 else ""
            bar.update(task, completed=done, total=total, rate=rate)

        return idx.update(paths, progress=step)


def _report_line(r: UpdateReport) -> str:
    return (
        f"{r.added} added, {r.changed} changed, {r.deleted} deleted, "
        f"{r.unchanged + r.touched} unchanged; {r.chunks} chunks written "
        f"({r.embedded} embedded, {r.reused} reused) in {r.seconds:.2f}s"
    )


def _print_report(r: UpdateReport, json: bool) -> None:
    if json:
        common.print_json(asdict(r))
        return
    for w in r.warnings:
        common.info(f"[yellow]warning:[/yellow] {w}")
    common.console.print(f"[green]indexed[/green] {_report_line(r)}", highlight=False)


def _print_status(idx: Index, paths: list[Path] | None, json: bool) -> None:
    st = idx.status(paths)
    if json:
        common.print_json({**asdict(st), "clean": st.clean})
        return
    if st.clean:
        common.console.print(f"[green]up to date[/green]: {st.unchanged + len(st.touched)} files")
        return
    for label, color, items in (
        ("new", "green", st.new),
        ("changed", "yellow", st.changed),
        ("deleted", "red", st.deleted),
    ):
        for item in items[:50]:
            common.console.print(f"[{color}]{label:8}[/{color}] {item}", highlight=False)
        if len(items) > 50:
            common.console.print(f"[{color}]{label:8}[/{color}] ... and {len(items) - 50} more")
    common.console.print(
        f"{len(st.new)} new, {len(st.changed)} changed, {len(st.deleted)} deleted, "
        f"{st.unchanged + len(st.touched)} unchanged (run forge index to update)"
    )


def _watch(idx: Index, paths: list[Path] | None, json: bool) -> None:
    from forge.index.watch import watch

    def show(r: UpdateReport) -> None:
        if json:
            common.print_json(asdict(r))
        elif r.added or r.changed or r.deleted or r.touched:
            common.console.print(f"[green]updated[/green] {_report_line(r)}", highlight=False)
        for w in r.warnings:
            common.info(f"[yellow]warning:[/yellow] {w}")

    common.info(f"watching {', '.join(str(p) for p in idx.sources(paths))} (Ctrl-C stops)")
    try:
        watch(idx, paths, show)
    except KeyboardInterrupt:
        common.info("stopped watching")


def _parse_where(items: list[str]) -> dict[str, str]:
    where = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ForgeError(f"--where {item}: expected key=value", "e.g. --where tags=rust")
        where[key.strip()] = value.strip()
    return where


def search_cmd(
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    k: Annotated[int, typer.Option("-k", "--top", help="How many results.")] = 10,
    mode: Annotated[
        str | None,
        typer.Option("--mode", "-m", help="hybrid (default), bm25 or vector."),
    ] = None,
    path: Annotated[
        str | None, typer.Option("--path", help="Only files matching this glob ('*' spans '/').")
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where", help="Front-matter filter key=value (repeatable; lists: contains)."
        ),
    ] = None,
    db: DbOpt = None,
    json: common.JsonOpt = False,
) -> None:
    """Search the markdown index by meaning and keywords; prints where each hit is.

    Example: forge search "how do closures capture variables" -k 5
    """
    cfg = _config(db)
    if not Path(cfg.path).exists():
        raise ForgeError(f"no index at {cfg.path}", "build one first: forge index PATH...")
    from forge.index import Index

    with Index(cfg.path, config=cfg) as idx:
        hits = idx.search(query, k=k, mode=mode, path=path, where=_parse_where(where or []))
    if json:
        common.print_json([h.to_dict() for h in hits])
        return
    if not hits:
        common.console.print("no results")
        return
    from rich.table import Table

    table = Table(show_lines=True)
    for col in ("#", "score", "where", "section", "snippet"):
        table.add_column(col, overflow="fold")
    for i, h in enumerate(hits, start=1):
        table.add_row(
            str(i),
            f"{h.score:.4f}",
            f"{h.path}:{h.start_line}-{h.end_line}",
            h.heading,
            _marked(h.snippet),
        )
    common.console.print(table)


def _marked(snippet: str) -> Text:
    """« » marks as bold yellow, with no Rich markup parsed from the document's text."""
    from rich.text import Text

    out = Text()
    for i, part in enumerate(snippet.replace("»", "«").split("«")):
        out.append(part, style="bold yellow" if i % 2 else None)
    return out


def trace(text: str, k: int = 5, db: Path | None = None) -> list[dict]:
    """The ``k`` indexed chunks nearest to ``text`` (``forge generate --trace``), as dicts."""
    cfg = _config(db)
    if not Path(cfg.path).exists():
        raise ForgeError(
            f"--trace needs an index of the training corpus; none at {cfg.path}",
            "index the corpus first: forge index CORPUS_FOLDER (or set index.path)",
        )
    from forge.index import Index

    with Index(cfg.path, config=cfg) as idx:
        return [h.to_dict() for h in idx.nearest(text, k=k)]


def print_trace(hits: list[dict]) -> None:
    """Nearest training chunks under a generated sample: a score near 1.0 is near-verbatim."""
    from rich.table import Table

    table = Table(title="nearest indexed chunks (memorization check)")
    for col in ("similarity", "where", "section", "text"):
        table.add_column(col, overflow="fold")
    for h in hits:
        where = f"{h['path']}:{h['start_line']}-{h['end_line']}"
        table.add_row(f"{h['score']:.3f}", where, h["heading"], " ".join(h["text"].split())[:160])
    common.console.print(table)
