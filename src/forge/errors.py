"""What a user sees when something is wrong.

A ``ForgeError`` is a user error: one line saying what is wrong (and where), and a hint
saying what to do. The CLI prints it in red and exits 1; it never shows a traceback.
Anything else that escapes is a bug in forge.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class ForgeError(Exception):
    """A mistake the user can fix: bad config, missing file, unsupported option."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nhint: {self.hint}"


class ConfigError(ForgeError):
    """forge.yaml (or an override) is invalid."""


class NoPlanError(ForgeError):
    """A command needs forge.yaml and there is none."""

    def __init__(self, path: str, command: str):
        super().__init__(
            f"no plan found: run `forge plan` first ({path} does not exist)",
            f"`forge plan --data YOUR_DATA` writes it; or pass the needed flags to `forge {command}`",
        )


@contextmanager
def file_errors(path: str | Path, doing: str, hint: str) -> Iterator[None]:
    """Turn an OSError while ``doing`` something with ``path`` (no such folder, a folder where a
    file should be, no permission, disk full) into a ForgeError naming the path."""
    try:
        yield
    except OSError as e:
        raise ForgeError(f"{path}: cannot {doing} ({e.strerror or e})", hint) from None
