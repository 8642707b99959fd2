"""The main job as a user runs it: plan a char-level GPT on a text corpus, prepare it (a
tokenizer trained on the data, token shards), train a few steps on the prepared folder, generate.

`forge plan` and `forge prepare` run in a process where torch cannot be imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# torch is made unimportable before forge loads: any import of it fails the command.
NO_TORCH = (
    "import sys; sys.modules['torch'] = None; from forge.cli.app import main; main(sys.argv[1:])"
)


def _forge_without_torch(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    return subprocess.run(
        [sys.executable, "-c", NO_TORCH, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _corpus(path: Path) -> str:
    """Python sources (this project's own), one document per file, as JSONL text records."""
    src = sorted((Path(__file__).parents[2] / "src" / "forge").rglob("*.py"))[:40]
    texts = [p.read_text(encoding="utf-8") for p in src]
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    return "".join(texts)


@pytest.mark.timeout(600)
def test_plan_prepare_train_generate(tmp_path, monkeypatch, forge_cli):
    text = _corpus(tmp_path / "code.jsonl")
    r = _forge_without_torch(
        tmp_path, "plan", "--data", "code.jsonl", "--method", "scratch", "--model", "char-tiny"
    )
    assert r.returncode == 0, r.stderr
    import yaml

    plan = yaml.safe_load((tmp_path / "forge.yaml").read_text())
    assert plan["model"]["tokenizer"] == "char"

    r = _forge_without_torch(tmp_path, "prepare")
    assert r.returncode == 0, r.stdout + r.stderr
    data = tmp_path / "data" / "code"
    from forge.tokenizer_build import load_tokenizer

    tok = load_tokenizer(data / "tokenizer" / "tokenizer.json")
    # trained on the data: every character of the corpus is in the vocabulary, nothing else
    vocab = tok.get_vocab()
    assert set(text) <= set(vocab)
    assert len(vocab) == len(set(text)) + 2  # + end-of-text and unknown
    man = json.loads((data / "manifest.json").read_text())
    assert man["tokenizer"]["vocab_size"] == len(vocab)
    for split in ("train", "validation"):
        assert (data / "tokens" / split / "index.json").is_file()

    # the same inputs train the same tokenizer: a rerun has nothing to do
    r = _forge_without_torch(tmp_path, "prepare")
    assert r.returncode == 0 and "up to date" in r.stdout, r.stdout + r.stderr

    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    r = forge_cli("train", "--data", "data/code", "--max-steps", "4", "--run-name", "t")
    assert r.code == 0, r
    run = tmp_path / "runs" / "t"
    run_tok = load_tokenizer(run / "tokenizer.json")
    assert run_tok.to_str() == tok.to_str()  # the run uses the prepared data's tokenizer
    r = forge_cli("generate", "t", "--prompt", "def ", "--max-new-tokens", "20", "--seed", "0")
    assert r.code == 0, r
    assert r.stdout.startswith("def ")


@pytest.mark.timeout(600)
def test_a_few_source_files_by_glob(tmp_path, monkeypatch, forge_cli):
    """A glob of .py files, too few documents for a validation split: plan names the data
    after the folder and counts characters, prepare reads the code as documents, and train
    holds out the end of the train tokens."""
    src = tmp_path / "src"
    src.mkdir()
    files = sorted((Path(__file__).parents[2] / "src" / "forge" / "data").glob("*.py"))[:3]
    for f in files:
        (src / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    chars = sum(len(f.read_text(encoding="utf-8")) for f in files)
    r = _forge_without_torch(tmp_path, "plan", "--data", "src/*.py", "--goal", "pretrain")
    assert r.returncode == 0, r.stderr
    import yaml

    plan = yaml.safe_load((tmp_path / "forge.yaml").read_text())
    assert plan["data"]["name"] == "src"
    assert plan["plan"]["data_tokens"] == pytest.approx(chars, rel=0.01)
    assert "one per character" in plan["plan"]["why"]
    assert "will be cut" not in plan["plan"]["why"]  # documents are packed, not cut

    r = _forge_without_torch(tmp_path, "prepare", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    man = json.loads((tmp_path / "data" / "src" / "manifest.json").read_text())
    assert man["kind"] == "pretrain" and man["counts"]["splits"] == {"train": 3}
    assert man["tokens"]["train"]["total"] == pytest.approx(chars, rel=0.01)  # one per char

    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    r = forge_cli("train", "--max-steps", "2", "--run-name", "t")
    assert r.code == 0, r
    assert "no validation tokens" in r.stderr  # progress messages go to stderr
    metrics = [json.loads(x) for x in (tmp_path / "runs" / "t" / "metrics.jsonl").open()]
    assert any("val/loss" in m for m in metrics)
