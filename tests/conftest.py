"""Shared fixtures: the real datasets in ../shared/data (or $FORGE_TEST_DATA), a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    env = os.environ.get("FORGE_TEST_DATA")
    for cand in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "data"]:
        if cand.is_dir():
            return cand
    return None


def shared_reference_dir() -> Path | None:
    data = shared_data_dir()
    if data is not None and (data.parent / "reference").is_dir():
        return data.parent / "reference"
    cand = ROOT.parent / "shared" / "reference"
    return cand if cand.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; the test is skipped when it is absent (a fresh clone still passes)."""
    d = shared_data_dir()
    if d is None:
        pytest.skip("../shared/data not found (set FORGE_TEST_DATA)")
    return d


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    d = shared_reference_dir()
    if d is None:
        pytest.skip("../shared/reference not found")
    return d


class CliResult:
    def __init__(self, code: int, stdout: str, stderr: str):
        self.code, self.stdout, self.stderr = code, stdout, stderr

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, stdout={self.stdout[-2000:]!r}, stderr={self.stderr[-2000:]!r})"


@pytest.fixture
def forge_cli(monkeypatch, capsys):
    """Run `forge ARGS` in-process; returns exit code, stdout and stderr."""
    from forge.cli import common
    from forge.cli.app import main

    def run(*args: str) -> CliResult:
        code = 0
        common.STATE.__init__()  # fresh global options for each call
        try:
            main(list(args))
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        out = capsys.readouterr()
        return CliResult(code, out.out, out.err)

    return run
