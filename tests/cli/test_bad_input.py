"""User mistakes on the command line end in one red error line, a hint and exit code 1.

Each case is a mistake a person makes (missing file, a folder for a file, empty or broken
files, wrong types, unknown names, bad --set values, bad options); none may end in a traceback.
"""

from __future__ import annotations

import pytest

# name -> content; "/" marks a folder
FILES = {
    "ok.jsonl": '{"messages": [{"role": "user", "content": "hi"}]}\n',
    "bad.json": "{bad json\n",
    "bin.json": b"\x00\xff\xfe\x00binary",
    "empty.jsonl": "",
    "bad.yaml": "a: [1\n",
    "list.yaml": "- 1\n",
    "plan.yaml": "version: 1\nmodel:\n  name: Qwen/Qwen2.5-0.5B-Instruct\n",
    "baddate.yaml": "version: 1\nmodel:\n  template_date: 2025-13-45\n",
    "badlr.yaml": "version: 1\ntraining:\n  lr: fast\n",
    "hw3.yaml": "hardware: 3\n",
    "bad.jinja": "{{ foo(\n",
    "adir/": None,
    "m_bin/": None,
    "m_bin/config.json": b"\xff\xfe",
    "content5.json": '[{"role": "user", "content": 5}]',
    "nomessages.json": "[]",
    # prepared dataset folders with a damaged manifest or shard
    "ds_list/": None,
    "ds_list/manifest.json": "[1]",
    "ds_files/": None,
    "ds_files/manifest.json": '{"files": 5}',
    "ds_shard/": None,
    "ds_shard/manifest.json": '{"files": {"train": ["train.parquet"]}}',
    "ds_shard/train.parquet": "junk",
}

CASES = {
    # forge.yaml itself
    "config folder": (["-c", "adir", "config", "validate"], "adir: cannot read"),
    "config invalid yaml": (["-c", "bad.yaml", "config", "show"], "bad.yaml:2: invalid YAML"),
    "config not a mapping": (["-c", "list.yaml", "config", "validate"], "expected a mapping"),
    "config not utf-8": (["-c", "bin.json", "config", "validate"], "not UTF-8"),
    "config wrong type": (["-c", "badlr.yaml", "config", "validate"], "badlr.yaml:3: training.lr"),
    "config impossible date": (["-c", "baddate.yaml", "config", "validate"], "baddate.yaml:3"),
    "migrate folder": (["-c", "adir", "config", "migrate"], "adir: cannot read"),
    "docs into a folder": (["config", "docs", "-o", "adir"], "adir: cannot write"),
    "docs into a missing folder": (["config", "docs", "-o", "no/such/x.md"], "cannot write"),
    # --set
    "set without =": (["--set", "training", "config", "show"], "expected key=value"),
    "set unknown key": (["--set", "nope.x=1", "config", "show"], "nope: unknown key"),
    "set wrong type": (["--set", "training.lr=abc", "config", "show"], "training.lr"),
    "set infinite number": (["--set", "training.lr=.inf", "config", "show"], "finite number"),
    "set impossible date": (
        ["--set", "model.template_date=2025-13-45", "config", "show"],
        "model.template_date",
    ),
    # plan
    "plan missing data": (["plan", "--data", "missing.jsonl"], "no such file"),
    "plan empty data": (["plan", "--data", "empty.jsonl"], "no records"),
    "plan broken tokenizer": (
        ["plan", "--data", "ok.jsonl", "--tokenizer", "bad.json"],
        "cannot load tokenizer",
    ),
    "plan binary tokenizer": (
        ["plan", "--data", "ok.jsonl", "--tokenizer", "bin.json"],
        "cannot load tokenizer",
    ),
    "plan into a missing folder": (
        ["plan", "--data", "ok.jsonl", "-o", "no/such/forge.yaml"],
        "cannot write",
    ),
    "plan hardware not a mapping": (
        ["plan", "--data", "ok.jsonl", "--hardware", "hw3.yaml"],
        "hardware",
    ),
    "plan hardware file without a section": (
        ["plan", "--data", "ok.jsonl", "--hardware", "plan.yaml"],
        "no `hardware:` section",
    ),
    "plan unknown model": (["plan", "--data", "ok.jsonl", "--model", "nosuch"], "unknown model"),
    # models, templates
    "models unknown": (["models", "show", "nosuchmodel"], "unknown model 'nosuchmodel'"),
    "models empty folder": (["models", "show", "adir"], "not a model folder"),
    "models folder config not utf-8": (["models", "show", "m_bin"], "config.json: not UTF-8"),
    "template syntax error": (["template", "show", "bad.jinja"], "Jinja syntax error on line 1"),
    "template unknown": (["--set", "model.chat_template=nosuch", "template", "render"], "nosuch"),
    "render missing file": (
        ["template", "render", "-m", "llama-3", "-f", "missing.json"],
        "cannot read",
    ),
    "render folder": (["template", "render", "-m", "llama-3", "-f", "adir"], "cannot read"),
    "render bad json": (["template", "render", "-m", "llama-3", "-f", "bad.json"], "cannot read"),
    "render content not text": (
        ["template", "render", "-m", "llama-3", "-f", "content5.json"],
        "conversation 1: message 1: `content` must be a string",
    ),
    "render no conversations": (
        ["template", "render", "-m", "llama-3", "-f", "nomessages.json"],
        "no conversations",
    ),
    "render bad policy": (
        ["template", "render", "-m", "llama-3", "--policy", "nope"],
        "unknown loss policy",
    ),
    "render missing tokenizer": (
        ["template", "render", "-m", "llama-3", "--tokenizer", "missing.json"],
        "no tokenizer at missing.json",
    ),
    "check tokenizer folder without one": (
        ["template", "check", "-m", "llama-3", "--tokenizer", "adir"],
        "no tokenizer at adir",
    ),
    # inspect
    "inspect missing": (["inspect", "missing.jsonl"], "no such file"),
    "inspect unknown type": (["inspect", "bad.yaml"], "unknown file type"),
    "inspect broken tokenizer": (
        ["inspect", "ok.jsonl", "--tokenizer", "bad.json"],
        "cannot load tokenizer",
    ),
    "inspect out is a file": (["inspect", "ok.jsonl", "--out", "ok.jsonl"], "cannot write"),
    "inspect manifest not an object": (["inspect", "ds_list"], "expected a JSON object"),
    "inspect manifest files not an object": (["inspect", "ds_files"], "`files` must be an object"),
    "inspect damaged shard": (["inspect", "ds_shard"], "not a readable Parquet file"),
    "inspect with a broken plan": (["-c", "bad.yaml", "inspect", "ok.jsonl"], "invalid YAML"),
}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    for name, content in FILES.items():
        if content is None:
            (tmp_path / name).mkdir()
        elif isinstance(content, bytes):
            (tmp_path / name).write_bytes(content)
        else:
            (tmp_path / name).write_text(content, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_user_mistake_is_one_error_line_and_a_hint(workdir, forge_cli, case):
    args, says = CASES[case]
    before = sorted(p.name for p in workdir.iterdir())
    r = forge_cli(*args)
    out = r.stdout + r.stderr
    assert r.code == 1, r
    assert "Traceback" not in out
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    hints = [line for line in r.stderr.splitlines() if line.startswith("hint: ")]
    assert len(errors) == 1 and len(hints) == 1, r
    assert says in errors[0], r
    assert hints[0].strip() != "hint:"
    # a refused command leaves the user's files as they were
    assert sorted(p.name for p in workdir.iterdir()) == before


def test_a_bad_override_is_reported_with_the_override_that_set_it(workdir, forge_cli, monkeypatch):
    monkeypatch.setenv("FORGE_TRAINING__LR", "fast")
    r = forge_cli("-c", "plan.yaml", "--set", "model.template_date=2025-13-45", "config", "show")
    assert r.code == 1, r
    assert "environment FORGE_TRAINING__LR: training.lr: must be a valid number" in r.stderr
    assert "--set model.template_date=2025-13-45: model.template_date:" in r.stderr


def test_the_installed_entry_point_prints_no_traceback(workdir):
    """The same boundary in a real process: stderr is the red line and the hint, exit 1."""
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "forge", "config", "docs", "-o", "adir"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stderr.splitlines()[0].startswith("error: adir: cannot write")
    assert r.stderr.splitlines()[1].startswith("hint: ")
