"""Memory housekeeping for long-lived processes (prepare workers, the index): giving freed
memory back to the system, and pausing the cycle collector over many acyclic objects."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
from collections.abc import Callable


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


@contextlib.contextmanager
def gc_paused():
    """Python's cycle collector off for the block and back on after (if it was on). For code
    that makes many acyclic objects (rows, token id and label lists): they set the collector off
    again and again, each time walking every live object, while reference counting frees them
    anyway."""
    import gc

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
