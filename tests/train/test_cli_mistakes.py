"""`forge train` mistakes end in one error line, a hint and exit code 1, before any training."""

from __future__ import annotations

import pytest

CASES = {
    "negative steps": (["--data", "ok.txt", "--max-steps", "-1"], "--max-steps must be at least 1"),
    "zero steps": (["--data", "ok.txt", "--max-steps", "0"], "--max-steps must be at least 1"),
    "empty folder": (["--data", "adir"], "adir: a folder, but not prepared data"),
    "too little data": (["--data", "tiny.txt", "--max-steps", "5"], "too few for block_size 64"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_train_mistake_is_one_error_line_and_a_hint(tmp_path, monkeypatch, forge_cli, case):
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()
    (tmp_path / "ok.txt").write_text("hello world, hello forge.\n" * 400, encoding="utf-8")
    (tmp_path / "tiny.txt").write_text("a short text of a few characters\n", encoding="utf-8")
    args, message = CASES[case]
    r = forge_cli("train", "--preset", "char-tiny", *args)
    assert r.code == 1, r
    assert "Traceback" not in r.stdout + r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert message in lines[0], r
    assert any(line.startswith("hint:") for line in lines[1:]), r
    runs = tmp_path / "runs"  # no run folder made (the token cache, .cache, may be)
    assert not runs.exists() or not [p for p in runs.iterdir() if not p.name.startswith(".")]
