"""The pretraining record: a document of text (a book, a markdown file, a source file)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class TextDoc:
    text: str
    id: str | None = None
    source: tuple[str, int] | None = None
    """(file, line) the record came from."""
    meta: dict[str, Any] = field(default_factory=dict)
