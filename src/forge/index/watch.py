"""Keep an index current while its files change (``forge index --watch``)."""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from forge.index.index import Index, UpdateReport


def watch(
    index: Index,
    paths: Sequence[str | Path] | None,
    on_update: Callable[[UpdateReport], None],
    stop: threading.Event | None = None,
    debounce_ms: int = 400,
) -> None:
    """Update once, then again after every burst of markdown changes, until ``stop`` or Ctrl-C.

    Every burst runs a full ``update`` over the sources: unchanged files cost one ``stat``
    each, and a rename (a delete plus an add in the same burst) reuses its vectors.
    """
    from watchfiles import watch as watch_changes

    on_update(index.update(paths))
    sources = [p for p in index.sources(paths) if p.exists()]
    include = index.config.include

    def wanted(_change: object, path: str) -> bool:
        name = Path(path).name
        return Path(path).is_dir() or any(fnmatch.fnmatch(name, p) for p in include)

    for _ in watch_changes(
        *sources, watch_filter=wanted, debounce=debounce_ms, stop_event=stop, raise_interrupt=True
    ):
        on_update(index.update(paths))
