"""Which markdown files exist under the sources, and how they differ from the index.

A file is unchanged when its size and mtime match the index; when either differs its content
hash decides: same hash means only the timestamp moved (no re-chunking), another hash means
the file changed.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import xxhash

from forge.errors import ForgeError
from forge.index.store import DocRow


@dataclass(slots=True)
class FileStat:
    key: str  # how the index names the file (relative to the index root when inside it)
    path: Path  # where it is on disk
    size: int
    mtime_ns: int
    hash: str | None = None  # filled when the content had to be looked at


@dataclass(slots=True)
class Diff:
    new: list[FileStat] = field(default_factory=list)
    changed: list[FileStat] = field(default_factory=list)
    touched: list[FileStat] = field(default_factory=list)  # new mtime, same content
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)


def file_hash(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def key_for(path: Path, root: Path) -> str:
    """A stable name: relative to the root when inside it (the project can move), else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(root).as_posix() or "."
    except ValueError:
        return absolute.as_posix()


def is_under(key: str, source: str) -> bool:
    if source == ".":
        return not key.startswith("/")
    return key == source or key.startswith(source.rstrip("/") + "/")


def scan(
    sources: Iterable[Path],
    root: Path,
    include: list[str],
    exclude: list[str],
    missing_ok: bool = False,
) -> dict[str, FileStat]:
    """Every file to index under ``sources``: folders are walked, files are taken as given."""
    found: dict[str, FileStat] = {}
    for src in sources:
        if src.is_file():
            st = src.stat()
            found[key_for(src, root)] = FileStat(
                key_for(src, root), src, st.st_size, st.st_mtime_ns
            )
            continue
        if not src.is_dir():
            if missing_ok:
                continue
            raise ForgeError(
                f"{src}: no such file or folder", "pass markdown files or folders to forge index"
            )
        for dirpath, dirnames, filenames in os.walk(src):
            dirnames[:] = sorted(
                d for d in dirnames if not any(fnmatch.fnmatch(d, x) for x in exclude)
            )
            for name in filenames:
                if not any(fnmatch.fnmatch(name, p) for p in include):
                    continue
                if any(fnmatch.fnmatch(name, x) for x in exclude):
                    continue
                p = Path(dirpath, name)
                try:
                    st = p.stat()
                except FileNotFoundError:  # removed while walking
                    continue
                k = key_for(p, root)
                found[k] = FileStat(k, p, st.st_size, st.st_mtime_ns)
    return found


def diff(on_disk: dict[str, FileStat], indexed: dict[str, DocRow], source_keys: list[str]) -> Diff:
    out = Diff()
    for key in sorted(on_disk):
        fs = on_disk[key]
        row = indexed.get(key)
        if row is None:
            out.new.append(fs)
        elif row.size == fs.size and row.mtime_ns == fs.mtime_ns:
            out.unchanged += 1
        else:
            try:
                fs.hash = file_hash(fs.path.read_bytes())
            except FileNotFoundError:
                continue  # vanished since the walk; the next update deletes it
            if fs.hash == row.hash:
                out.touched.append(fs)
            else:
                out.changed.append(fs)
    out.deleted = sorted(
        k for k in indexed if k not in on_disk and any(is_under(k, s) for s in source_keys)
    )
    return out
