"""Where shard tasks run: local processes (default) or a Ray cluster.

An executor maps a picklable function over task indices and yields ``(index, result)`` as
tasks finish; the caller orders results by index, so the outputs never depend on which
worker ran what.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from forge.registry import get, register


class Executor(Protocol):
    def map(
        self, fn: Callable[[Any, int], Any], ctx: Any, tasks: list[int]
    ) -> Iterator[tuple[int, Any]]: ...

    def release(self) -> None:
        """Free idle workers between passes (the global step runs in this process)."""
        ...

    def close(self) -> None: ...


@register("executor", "local")
def _local(workers: int) -> Executor:
    from forge.exec.local import LocalExecutor

    return LocalExecutor(workers)


@register("executor", "ray")
def _ray(workers: int) -> Executor:
    from forge.exec.ray_exec import RayExecutor

    return RayExecutor(workers)


def make_executor(name: str, workers: int) -> Executor:
    """The executor registered as ``name`` (plugins can add theirs)."""
    return get("executor", name)(workers)
