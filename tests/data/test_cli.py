"""`forge prepare` from the command line: summary, --json, --dry-run, up to date, user errors."""

from __future__ import annotations

import json

import pyarrow.parquet as pq


def _write(tmp_path, n=60):
    data = tmp_path / "qa.jsonl"
    rows = [{"prompt": f"what is {i} + {i}?", "completion": f"{2 * i}"} for i in range(n)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return data


def test_cli_prepare_json_then_up_to_date(tmp_path, forge_cli, model_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = _write(tmp_path)
    args = ("prepare", str(data), "--tokenizer", str(model_dir), "-o", "out", "--name", "qa")
    r = forge_cli("--set", f"model.name={model_dir}", *args, "--json")
    assert r.code == 0, r
    doc = json.loads(r.stdout)
    assert doc["status"] == "built"
    assert doc["manifest"]["sources"][0]["format"] == "prompt_completion"
    assert (
        pq.read_table(tmp_path / "out" / "qa" / "train.parquet").num_rows
        == doc["manifest"]["counts"]["splits"]["train"]
    )
    r = forge_cli("--set", f"model.name={model_dir}", *args)
    assert r.code == 0 and "up to date" in r.stdout


def test_cli_dry_run_and_summary(tmp_path, forge_cli, model_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")  # the tables fold long cells on narrow terminals
    data = _write(tmp_path)
    base = ("--set", f"model.name={model_dir}", "prepare", str(data), "-o", "out")
    r = forge_cli(*base, "--dry-run")
    assert r.code == 0, r
    assert "prompt_completion" in r.stdout and "nothing was written" in r.stdout
    assert not (tmp_path / "out").exists()
    r = forge_cli(*base)
    assert r.code == 0, r
    assert "encode" in r.stdout and "train" in r.stdout and "rows/s" in r.stdout


def test_cli_ambiguous_format_is_one_red_line(tmp_path, forge_cli, model_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "qa.jsonl"
    data.write_text("".join(json.dumps({"question": "q", "answer": "a"}) + "\n" for _ in range(20)))
    r = forge_cli("--set", f"model.name={model_dir}", "prepare", str(data), "-o", "out")
    assert r.code == 1
    assert "unknown format" in r.stderr and "fields" in r.stderr
    assert "Traceback" not in r.stderr


def test_cli_needs_a_plan_or_paths(tmp_path, forge_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = forge_cli("prepare")
    assert r.code == 1 and "no plan found" in r.stderr
