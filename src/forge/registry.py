"""Named, swappable components (tokenizers, trackers, executors, embedders, models, ...).

A component kind is a string such as ``"tracker"``. Forge registers its own components with
``@register("tracker", "jsonl")``; plugins add theirs through the Python entry-point group
``forge.<kind>`` (e.g. ``[project.entry-points."forge.tracker"] wandb = "pkg.mod:WandbTracker"``).
forge.yaml then chooses a component by name.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, TypeVar

from forge.errors import ForgeError

T = TypeVar("T")

_REGISTRY: dict[str, dict[str, Any]] = {}
_LOADED_ENTRY_POINTS: set[str] = set()


def register(kind: str, name: str) -> Callable[[T], T]:
    """Decorator: make ``obj`` available as component ``name`` of ``kind``."""

    def deco(obj: T) -> T:
        _REGISTRY.setdefault(kind, {})[name] = obj
        return obj

    return deco


def _load_entry_points(kind: str) -> None:
    if kind in _LOADED_ENTRY_POINTS:
        return
    _LOADED_ENTRY_POINTS.add(kind)
    for ep in entry_points(group=f"forge.{kind}"):
        _REGISTRY.setdefault(kind, {}).setdefault(ep.name, ep)


def names(kind: str) -> list[str]:
    """All registered names of a kind (forge's own and plugins')."""
    _load_entry_points(kind)
    return sorted(_REGISTRY.get(kind, {}))


def get(kind: str, name: str) -> Any:
    """The component ``name`` of ``kind``; a ForgeError with a did-you-mean if unknown."""
    _load_entry_points(kind)
    table = _REGISTRY.get(kind, {})
    if name not in table:
        known = sorted(table)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else None
        raise ForgeError(
            f"unknown {kind} '{name}' (known: {', '.join(known) or 'none'})",
            hint or f"choose one of: {', '.join(known)}",
        )
    obj = table[name]
    if hasattr(obj, "load") and hasattr(obj, "group"):  # an entry point not yet imported
        obj = obj.load()
        table[name] = obj
    return obj
