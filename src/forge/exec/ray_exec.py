"""Ray: the same shard tasks on a Ray cluster (`forge[ray]`).

Connects to the cluster named by RAY_ADDRESS, else starts a local Ray instance with
``workers`` CPUs. Every node must see the input files and the output folder at the same
paths (a shared filesystem). Each Ray worker process keeps its tokenizer between tasks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from forge.errors import ForgeError


class RayExecutor:
    def __init__(self, workers: int):
        try:
            import ray
        except ImportError as e:
            raise ForgeError(
                "the Ray executor needs Ray", 'install it with `pip install "forge[ray]"`'
            ) from e
        self.ray = ray
        self.workers = max(1, workers)
        self._started = False
        if not ray.is_initialized():
            address = os.environ.get("RAY_ADDRESS")
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if address:
                ray.init(address=address, **kwargs)
            else:
                ray.init(num_cpus=self.workers, **kwargs)
            self._started = True
        self._remote = ray.remote(num_cpus=1)(_call)

    def map(
        self, fn: Callable[[Any, int], Any], ctx: Any, tasks: list[int]
    ) -> Iterator[tuple[int, Any]]:
        ray = self.ray
        ctx_ref = ray.put(ctx)
        refs = {self._remote.remote(fn, ctx_ref, t): t for t in tasks}
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1)
            for ref in done:
                t = refs.pop(ref)
                yield t, ray.get(ref)

    def release(self) -> None:
        """Ray keeps its worker pool; the cluster manages its memory."""

    def close(self) -> None:
        if self._started:
            self.ray.shutdown()
            self._started = False


def _call(fn: Callable[[Any, int], Any], ctx: Any, task: int) -> Any:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return fn(ctx, task)
