"""Local worker processes. One worker runs tasks in this process (no pickling, easy to debug).

Each worker slot is a pool of one process, replaced after MAX_TASKS tasks or once its
resident memory grew MAX_GROWTH past what it held after its first task. A long-lived worker
keeps the high-water mark of every shard it ran in its allocators' free lists and
fragmented heaps (at 2M rows the pass-2 workers crept from about 200 to 320 MiB each); a
fresh fork starts from the parent's pages again. Replacing a worker costs a fork and one
template and tokenizer load per MAX_TASKS shards.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from forge.heap import give_back

MAX_TASKS = 16
"""Tasks a worker process runs before it is replaced."""
MAX_GROWTH = 48 << 20
"""Resident growth (bytes) past a worker's size after its first task that gets it replaced."""


def die_with_parent(parent: int | None = None) -> None:
    """Linux: have the kernel kill this process when its parent dies, so a `kill -9` of
    `forge prepare` takes its workers with it (an orphan would go on writing shards while the
    next run redoes them)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
        if parent is not None and os.getppid() != parent:  # it died before prctl took effect
            os._exit(1)


def _init_worker(parent: int) -> None:
    die_with_parent(parent)
    # what the worker inherited (imported modules, the parent's config and plan) stays alive
    # for its whole life: out of the cyclic collector's sight, a full collection scans only
    # what the shards allocate (it scanned the imports again once or twice per shard)
    import gc

    gc.freeze()
    # the workers already use every core: the tokenizer's and Arrow's own threads would only
    # contend, and each Arrow thread keeps allocator arenas of its own
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    try:
        import pyarrow
    except ImportError:
        return
    pyarrow.set_cpu_count(1)
    pyarrow.set_io_thread_count(1)


def resident_bytes() -> int | None:
    """This process's resident set size, or None where /proc is missing."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _run(fn: Callable[[Any, int], Any], ctx: Any, task: int) -> tuple[Any, int | None]:
    """In the worker: the task's result, and the worker's resident size once the memory the
    task freed went back to the system."""
    result = fn(ctx, task)
    give_back()
    return result, resident_bytes()


class _Slot:
    """One worker process (a pool of one), replaced when it ran enough or grew too much."""

    def __init__(self, ctx: Any):
        self._ctx = ctx
        self.pool: ProcessPoolExecutor | None = None
        self.tasks = 0
        self.base: int | None = None

    def submit(self, fn: Callable[[Any, int], Any], ctx: Any, task: int) -> Future:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                1, mp_context=self._ctx, initializer=_init_worker, initargs=(os.getpid(),)
            )
            self.tasks, self.base = 0, None
        return self.pool.submit(_run, fn, ctx, task)

    def finished(self, rss: int | None) -> None:
        """Count a finished task; replace the worker when it is due (the next submit forks)."""
        self.tasks += 1
        if self.base is None:
            self.base = rss
        grown = rss is not None and self.base is not None and rss - self.base > MAX_GROWTH
        if self.tasks >= MAX_TASKS or grown:
            self.close()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


class LocalExecutor:
    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._slots: list[_Slot] = []

    def _get_slots(self) -> list[_Slot]:
        if not self._slots:
            # fork starts fast and shares the imported modules; the parent holds no tokenizer
            # threads at this point (it loads none before the passes)
            method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
            ctx = mp.get_context(method)
            self._slots = [_Slot(ctx) for _ in range(self.workers)]
        return self._slots

    def map(
        self, fn: Callable[[Any, int], Any], ctx: Any, tasks: list[int]
    ) -> Iterator[tuple[int, Any]]:
        if self.workers == 1 or len(tasks) <= 1:
            for t in tasks:
                result = fn(ctx, t)
                give_back()
                yield t, result
            return
        slots = self._get_slots()
        # one task in flight per worker: memory stays bounded, Ctrl-C is quick, and a worker
        # due for replacement is idle when it is let go
        pending: dict[Future, tuple[int, _Slot]] = {}
        idle = list(slots)
        todo = list(tasks)
        while todo or pending:
            while todo and idle:
                slot = idle.pop(0)
                t = todo.pop(0)
                pending[slot.submit(fn, ctx, t)] = (t, slot)
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            finished = []
            for fut in sorted(done, key=lambda f: pending[f][0]):
                t, slot = pending.pop(fut)
                result, rss = fut.result()
                slot.finished(rss)
                idle.append(slot)
                finished.append((t, result))
            # the idle workers get their next task before the caller sees the results: what
            # the caller does with them (e.g. appending a shard to the outputs) overlaps them
            while todo and idle:
                slot = idle.pop(0)
                t = todo.pop(0)
                pending[slot.submit(fn, ctx, t)] = (t, slot)
            yield from finished

    def release(self) -> None:
        # workers hold a few hundred MB each; the next map() forks fresh ones
        self.close()

    def close(self) -> None:
        for slot in self._slots:
            slot.close()
        self._slots = []
