"""Which markdown files exist under the sources, and how they differ from the index.

A file is unchanged when its size and mtime match the index; when either differs its content
hash decides: same hash means only the timestamp moved (no re-chunking), another hash means
the file changed.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import xxhash

from forge.errors import ForgeError
from forge.index.store import DocRow


@dataclass(slots=True)
class FileStat:
    key: str  # how the index names the file (relative to the index root when inside it)
    path: str  # where it is on disk
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


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


class Keys:
    """A stable name per file: relative to the root when inside it (the project can move),
    else absolute; always with `/`. Plain strings: a no-change update names every file."""

    def __init__(self, root: Path):
        self.root = os.path.abspath(root)
        self.prefix = self.root.rstrip(os.sep) + os.sep

    def __call__(self, path: str | Path) -> str:
        absolute = os.path.abspath(path)
        if absolute == self.root:
            return "."
        key = absolute[len(self.prefix) :] if absolute.startswith(self.prefix) else absolute
        return key.replace(os.sep, "/") if os.sep != "/" else key


def is_under(key: str, source: str) -> bool:
    if source == ".":
        return not key.startswith("/")
    return key == source or key.startswith(source.rstrip("/") + "/")


def scan(
    sources: Iterable[str | Path],
    keys: Keys,
    include: list[str],
    exclude: list[str],
    missing_ok: bool = False,
) -> dict[str, FileStat]:
    """Every file to index under ``sources``: folders are walked, files are taken as given."""
    found: dict[str, FileStat] = {}
    wanted = re.compile("|".join(fnmatch.translate(p) for p in include) or "(?!)")
    skipped = re.compile("|".join(fnmatch.translate(p) for p in exclude) or "(?!)")
    for src in sources:
        src_str = os.fspath(src)
        try:
            st = os.stat(src_str)
        except FileNotFoundError:
            if missing_ok:
                continue
            raise ForgeError(
                f"{src}: no such file or folder", "pass markdown files or folders to forge index"
            ) from None
        if not stat.S_ISDIR(st.st_mode):
            k = keys(src_str)
            found[k] = FileStat(k, src_str, st.st_size, st.st_mtime_ns)
            continue
        stack = [src_str]
        while stack:
            try:
                entries = list(os.scandir(stack.pop()))
            except (PermissionError, FileNotFoundError):
                continue
            for e in sorted(entries, key=lambda e: e.name, reverse=True):
                if skipped.match(e.name):
                    continue
                if e.is_dir():
                    stack.append(e.path)
                elif e.is_file() and wanted.match(e.name):
                    try:
                        st = e.stat()
                    except FileNotFoundError:  # removed while walking
                        continue
                    k = keys(e.path)
                    found[k] = FileStat(k, e.path, st.st_size, st.st_mtime_ns)
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
                fs.hash = file_hash(read_bytes(fs.path))
            except FileNotFoundError:
                continue  # vanished since the walk; the next update deletes it
            if fs.hash == row.hash:
                out.touched.append(fs)
            else:
                out.changed.append(fs)
    exact = set(source_keys)  # file sources match exactly; folder sources by prefix
    folders = [s for s in source_keys if s not in on_disk]
    out.deleted = sorted(
        k
        for k in indexed
        if k not in on_disk and (k in exact or any(is_under(k, s) for s in folders))
    )
    return out
