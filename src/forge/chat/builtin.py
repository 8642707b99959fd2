"""forge's built-in chat templates: one .jinja file per family in templates/, described in
templates/families.yaml (which models use it, its special tokens, what closes a turn, what it
supports, and the public template it is tested against byte for byte)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    description: str
    models: tuple[str, ...]
    bos: str | None = None
    eos: str | None = None
    end_of_turn: tuple[str, ...] = ()
    system: bool = True
    tools: bool = False
    reference: str | None = None
    reference_pretty: bool = False
    alters_content: tuple[str, ...] = ()


def _load() -> dict[str, Family]:
    text = resources.files("forge.chat").joinpath("templates", "families.yaml").read_text("utf-8")
    out = {}
    for name, d in yaml.safe_load(text).items():
        d = dict(d)
        for key in ("models", "end_of_turn", "alters_content"):
            d[key] = tuple(d.get(key, ()))
        out[name] = Family(name=name, **d)
    return out


FAMILIES: dict[str, Family] = _load()


def names() -> list[str]:
    return list(FAMILIES)


@cache
def source(name: str) -> str:
    """The .jinja text of a built-in template."""
    return resources.files("forge.chat").joinpath("templates", f"{name}.jinja").read_text("utf-8")


def strip_pretty(text: str) -> str:
    """The documented preparation of the pretty-printed community templates: drop 4-space
    indents and newlines (escaped `\\n` inside strings stays)."""
    return text.replace("    ", "").replace("\n", "")
