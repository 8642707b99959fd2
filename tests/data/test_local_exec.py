"""The local executor replaces its worker processes (after MAX_TASKS tasks, or once one grew
MAX_GROWTH) without changing what map() yields, and a task's error still reaches the caller."""

from __future__ import annotations

import os

import pytest

from forge.exec import local
from forge.exec.local import LocalExecutor

_KEPT: list[bytearray] = []


def _square(ctx, t):
    return {"task": t, "value": t * t + ctx, "pid": os.getpid()}


def _grow(ctx, t):
    # memory the worker keeps (and touches) past the task: it grows ctx bytes per task
    _KEPT.append(bytearray(b"x" * ctx))
    return {"task": t, "pid": os.getpid()}


def _fail_on_five(ctx, t):
    if t == 5:
        raise ValueError(f"task {t} failed")
    return t


def _pids_by_task(results):
    return {r["task"]: r["pid"] for _, r in results}


def test_recycled_workers_give_the_same_results(monkeypatch):
    monkeypatch.setattr(local, "MAX_TASKS", 2)
    tasks = list(range(11))
    ex = LocalExecutor(2)
    try:
        got = list(ex.map(_square, 7, tasks))
    finally:
        ex.close()
    assert sorted(t for t, _ in got) == tasks
    assert all(r["task"] == t and r["value"] == t * t + 7 for t, r in got)
    pids = _pids_by_task(got)
    # each process ran at most MAX_TASKS tasks, so 11 tasks took at least 6 processes
    per_pid = {p: sum(1 for q in pids.values() if q == p) for p in set(pids.values())}
    assert max(per_pid.values()) <= 2 and len(per_pid) >= 6
    assert os.getpid() not in per_pid
    assert list(ex.map(_square, 7, tasks[:1])) == [(0, {"task": 0, "value": 7, "pid": os.getpid()})]


def test_worker_replaced_when_it_grew(monkeypatch):
    monkeypatch.setattr(local, "MAX_GROWTH", 4 << 20)
    ex = LocalExecutor(2)
    try:
        got = list(ex.map(_grow, 16 << 20, list(range(8))))
    finally:
        ex.close()
    assert sorted(t for t, _ in got) == list(range(8))
    pids = list(_pids_by_task(got).values())
    # the first task sets a worker's size, the second one grows it past MAX_GROWTH
    assert max(pids.count(p) for p in set(pids)) <= 2
    assert local.resident_bytes() > 0


def test_error_in_a_task_propagates_and_the_executor_closes():
    ex = LocalExecutor(2)
    with pytest.raises(ValueError, match="task 5 failed"):
        for _ in ex.map(_fail_on_five, None, list(range(10))):
            pass
    ex.close()
    # a fresh map after a failure forks new workers
    assert sorted(t for t, _ in ex.map(_fail_on_five, None, [1, 2, 3])) == [1, 2, 3]
    ex.close()


def test_one_worker_runs_in_process():
    ex = LocalExecutor(1)
    got = list(ex.map(_square, 0, [3, 1, 2]))
    assert [t for t, _ in got] == [3, 1, 2]
    assert {r["pid"] for _, r in got} == {os.getpid()}
