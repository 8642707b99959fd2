"""Local worker processes. One worker runs tasks in this process (no pickling, easy to debug)."""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any


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
    # the workers already use every core: the tokenizer's own threads would only contend
    os.environ["TOKENIZERS_PARALLELISM"] = "false"


class LocalExecutor:
    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # fork starts fast and shares the imported modules; the parent holds no tokenizer
            # threads at this point (it loads none before the passes)
            method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=mp.get_context(method),
                initializer=_init_worker,
                initargs=(os.getpid(),),
            )
        return self._pool

    def map(
        self, fn: Callable[[Any, int], Any], ctx: Any, tasks: list[int]
    ) -> Iterator[tuple[int, Any]]:
        if self.workers == 1 or len(tasks) <= 1:
            for t in tasks:
                yield t, fn(ctx, t)
            return
        pool = self._get_pool()
        pending: dict[Future, int] = {}
        todo = list(tasks)
        # keep at most 2 tasks per worker queued so memory stays bounded and Ctrl-C is quick
        while todo or pending:
            while todo and len(pending) < 2 * self.workers:
                t = todo.pop(0)
                pending[pool.submit(fn, ctx, t)] = t
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                t = pending.pop(fut)
                yield t, fut.result()

    def release(self) -> None:
        # workers hold a few hundred MB each; the next map() forks fresh ones
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
