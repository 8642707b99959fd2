"""How much memory `forge prepare` may take, and how much of it DuckDB gets.

A user who runs forge under a limit (`prlimit --as/--data`, `ulimit -v`, a container's
cgroup) expects it to fit, not to be told afterwards. The limit is read from the process
itself: the smallest of RLIMIT_AS, RLIMIT_DATA and the cgroup memory limit. DuckDB (the
global step's out-of-core tables) then gets the configured `memory_limit`, but never more
than a share of that limit, and spills the rest to the work folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
import sys
from collections.abc import Callable

from forge.errors import ForgeError

# DuckDB's buffer pool is one part of the global step's memory: the Python process, Arrow,
# numpy and DuckDB's own untracked allocations take the rest. Under an address-space limit the
# shared libraries and allocator reservations count too, so DuckDB gets a quarter of it.
LIMIT_SHARE = 0.25
# Below this DuckDB cannot run a join or an aggregate at all.
FLOOR = 64 << 20
# DuckDB memory per thread: with less, its joins and aggregates fail instead of spilling.
PER_THREAD = 128 << 20

_UNITS = {
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KIB": 1 << 10,
    "MIB": 1 << 20,
    "GIB": 1 << 30,
    "TIB": 1 << 40,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?I?B)\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes in a size such as `512MB`, `1GB`, `1.5 GiB` (DuckDB's units: KB = 1000 B)."""
    m = _SIZE.match(str(text))
    if not m or m.group(2).upper() not in _UNITS:
        raise ForgeError(
            f"not a memory size: {text!r}",
            "write a number and a unit, e.g. 256MB, 1GB or 512MiB",
        )
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def _rlimits() -> list[int]:
    """The soft address-space and data-segment limits that are set, in bytes."""
    try:
        import resource
    except ImportError:  # no rlimits on this platform
        return []
    out = []
    for which in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
        soft, _ = resource.getrlimit(which)
        if soft != resource.RLIM_INFINITY and soft > 0:
            out.append(int(soft))
    return out


def bound_reservations() -> None:
    """Under an address-space or data rlimit, have Arrow's allocator (mimalloc) reserve its
    arenas 64 MiB at a time instead of 1 GiB at once: both limits count a reservation whole,
    although not a page of it is used (importing pyarrow.dataset took the data segment to
    1.1 GB, past a 900 MB limit).
    Takes effect only before pyarrow is first imported (forge.data runs it on import)."""
    if _rlimits():
        os.environ.setdefault("MIMALLOC_ARENA_RESERVE", "64MiB")


def process_limit() -> int | None:
    """The memory this process may use, in bytes, or None when nothing limits it: the
    smallest of the address-space and data-segment rlimits and the cgroup memory limit."""
    limits = _rlimits()
    from forge.hardware import _cgroup_memory_limit

    cg = _cgroup_memory_limit()
    if cg:
        limits.append(cg)
    return min(limits) if limits else None


def duckdb_limit(configured: str, limit: int | None = None) -> int:
    """DuckDB's memory_limit in bytes: `configured`, capped at LIMIT_SHARE of the process
    limit (read from this process unless given), and at least FLOOR."""
    want = parse_size(configured)
    limit = process_limit() if limit is None else limit
    if limit:
        want = min(want, int(limit * LIMIT_SHARE))
    return max(want, FLOOR)


def threads_for(limit: int) -> int:
    """DuckDB threads for a memory limit: one per PER_THREAD bytes, at most one per core."""
    return max(1, min(os.cpu_count() or 1, limit // PER_THREAD))


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library is another (musl, macOS, Windows)."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
        return ctypes.CDLL(None).malloc_trim
    except (ValueError, OSError, AttributeError):  # no such confstr name, or no such symbol
        return None


def give_back() -> None:
    """Hand memory that is freed but still held back to the system: glibc's free heap pages
    (malloc_trim) and, when pyarrow is loaded, the unused pages of Arrow's allocator.

    Both allocators keep what a process freed for its next allocation, so a long-lived
    process ends up holding the high-water mark of every shard or stage it ran (a pass-2
    worker crept from 200 to 320 MiB over a 2M-row run). Called between shards and between
    the global step's stages; cheap (a few ms) and never raises.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    pa = sys.modules.get("pyarrow")  # never import it just for this
    if pa is not None:
        with contextlib.suppress(Exception):  # an allocator without the call: nothing to give
            pa.default_memory_pool().release_unused()
