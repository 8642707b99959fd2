"""The `forge` app: help, version, exit codes, workflow order, `forge config validate`."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import typer.main

from forge import __version__
from forge.cli.app import app


def _commands() -> dict:
    """Every leaf command as 'group sub' -> its click command (typer's own click)."""
    root = typer.main.get_command(app)
    out: dict = {}

    def walk(cmd, prefix: str) -> None:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, f"{prefix} {name}".strip())
        else:
            out[prefix] = cmd

    walk(root, "")
    return out


# Commands that need a plan (forge.yaml).
NEEDS_PLAN = ["config validate", "prepare", "train"]


def test_help_lists_commands(forge_cli):
    r = forge_cli("--help")
    assert r.code == 0
    for name in ("plan", "config", "doctor", "models"):
        assert name in r.stdout


def test_every_command_has_an_example_in_its_help():
    commands = _commands()
    assert {"plan", "config validate", "template render", "models show", "inspect"} <= set(commands)
    for name, cmd in commands.items():
        assert "Example:" in (cmd.help or ""), f"`forge {name}` help has no Example: line"


def test_version(forge_cli):
    r = forge_cli("--version")
    assert r.code == 0 and r.stdout.strip() == f"forge {__version__}"


def test_usage_error_exits_2(forge_cli):
    assert forge_cli("plan", "--no-such-option").code == 2
    assert forge_cli("no-such-command").code == 2
    assert forge_cli("plan", "--method", "sideways").code == 2


@pytest.mark.parametrize("command", NEEDS_PLAN)
def test_commands_that_need_a_plan_say_so(command, forge_cli, tmp_path, monkeypatch):
    assert command in _commands()
    monkeypatch.chdir(tmp_path)
    r = forge_cli(*command.split())
    assert r.code == 1
    assert "no plan found: run `forge plan` first" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_config_validate_broken_file_names_line_and_key(forge_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "forge.yaml").write_text(
        textwrap.dedent(
            """\
            version: 1
            model:
              name: gpt2
            training:
              batch_size: 4
              lr: -1
              epohcs: 3
            """
        )
    )
    r = forge_cli("config", "validate")
    assert r.code == 1
    assert "forge.yaml:6: training.lr: must be greater than 0 (got -1)" in r.stderr
    assert "forge.yaml:7: training.epohcs: unknown key" in r.stderr
    assert "Traceback" not in r.stderr
    (tmp_path / "forge.yaml").write_text("version: 1\nmodel:\n  name: gpt2\n")
    ok = forge_cli("config", "validate")
    assert ok.code == 0 and "valid" in ok.stdout


def test_python_dash_m_forge_runs():
    r = subprocess.run(
        [sys.executable, "-m", "forge", "--version"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and __version__ in r.stdout


def test_models_show_and_list(forge_cli):
    r = forge_cli("models", "show", "TheBloke/Mistral-7B-Instruct-v0.2-GPTQ", "--json")
    assert r.code == 0 and '"template": "mistral-v1"' in r.stdout
    r = forge_cli("models", "show", "lama-3.1-8b-instruct")
    assert r.code == 1 and "did you mean: meta-llama/Llama-3.1-8B-Instruct" in r.stderr
    r = forge_cli("models", "list", "smollm2")
    assert r.code == 0 and "HuggingFaceTB/SmolLM2-135M-Instruct" in r.stdout
