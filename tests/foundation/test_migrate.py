"""forge.yaml version 0 (../shared/reference/forge-yaml-v0.md) loads with a notice and
`forge config migrate` rewrites it; loader edge cases."""

from __future__ import annotations

import re
import textwrap

import pytest
import yaml

from forge.config import load_config
from forge.errors import ConfigError


@pytest.fixture
def v0_text(shared_reference) -> str:
    doc = (shared_reference / "forge-yaml-v0.md").read_text()
    return re.search(r"```yaml\n(.*?)```", doc, re.S).group(1)


def test_reference_v0_file_loads_with_a_notice(v0_text, tmp_path):
    p = tmp_path / "forge.yaml"
    p.write_text(v0_text)
    notices: list[str] = []
    cfg = load_config(p, environ={}, notices=notices)
    assert any("version 0; migrated to version 1" in n for n in notices)
    assert any("chunk_size is dropped" in n for n in notices)
    assert cfg.version == 1
    assert cfg.model.name == "meta-llama/Llama-3.2-1B-Instruct"
    assert cfg.model.chat_template == "llama-2"  # v0 `llama` meant the Llama 2 chat format
    assert cfg.model.max_length == 2048
    assert cfg.model.special_tokens == {"bos": "<|begin_of_text|>", "eos": "<|eot_id|>"}
    gpu = cfg.hardware.gpus[0]
    assert (gpu.vram_gb, gpu.compute_capability) == (24.0, "8.6")
    assert cfg.training.batch_size == 8
    assert cfg.preprocessing.split.validation == pytest.approx(0.1)
    assert cfg.preprocessing.split.test == 0


def test_config_migrate_rewrites_the_file(v0_text, tmp_path, monkeypatch, forge_cli):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "forge.yaml").write_text(v0_text)
    in_memory = load_config(tmp_path / "forge.yaml", environ={})
    r = forge_cli("config", "validate")
    assert r.code == 0 and "notice:" in r.stderr and "forge config migrate" in r.stderr
    r = forge_cli("config", "migrate")
    assert r.code == 0, r
    assert (tmp_path / "forge.yaml.bak").read_text() == v0_text
    new = yaml.safe_load((tmp_path / "forge.yaml").read_text())
    assert new["version"] == 1 and new["model"]["chat_template"] == "llama-2"
    assert load_config(tmp_path / "forge.yaml", environ={}) == in_memory
    r = forge_cli("config", "validate")
    assert r.code == 0 and "notice" not in r.stderr
    assert "already version 1" in forge_cli("config", "migrate").stdout


def _v0(tmp_path, text):
    p = tmp_path / "forge.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_v0_template_from_the_model_name_is_written_down(tmp_path):
    p = _v0(tmp_path, "model:\n  name: google/gemma-2b-it\n  max_length: 512\n")
    notices: list[str] = []
    cfg = load_config(p, environ={}, notices=notices)
    assert cfg.model.chat_template == "gemma"
    assert any("chose `gemma` from the model name" in n for n in notices)


def test_v0_mistakes_are_errors_with_lines(tmp_path):
    p = _v0(tmp_path, "model:\n  name: x\n  max_lenght: 512\n")
    with pytest.raises(ConfigError) as e:
        load_config(p, environ={})
    assert (
        f"{p}:3: model.max_lenght: unknown key in a version 0 file (did you mean 'max_length'?)"
        in e.value.message
    )
    p = _v0(tmp_path, "preprocessing:\n  train_split: 0.95\n  validation_split: 0.1\n")
    with pytest.raises(ConfigError, match="more than 1"):
        load_config(p, environ={})
    p = _v0(tmp_path, "preprocessing:\n  train_split: 0.8\n  validation_split: 0.1\n")
    notices: list[str] = []
    cfg = load_config(p, environ={}, notices=notices)
    assert cfg.preprocessing.split.test == pytest.approx(0.1)  # nothing silently lost
    p = _v0(tmp_path, "hardware:\n  gpu_arch: cpu\n")
    assert load_config(p, environ={}).hardware.gpus == []


def test_duplicate_keys_are_errors(tmp_path):
    p = _v0(tmp_path, "version: 1\ntraining:\n  lr: 0.1\n  batch_size: 2\n  lr: 0.2\n")
    with pytest.raises(ConfigError) as e:
        load_config(p, environ={})
    assert f"{p}:5: training.lr: duplicate key (first set at line 3)" in e.value.message


def test_bad_list_index_in_set_is_a_user_error(tmp_path):
    p = _v0(tmp_path, "version: 1\n")
    with pytest.raises(ConfigError, match="no item '0' in a list of 0"):
        load_config(p, sets=["data.sources.0.path=x.jsonl"], environ={"FORGE_DATA__SOURCES": "[]"})
    cfg = load_config(
        p, sets=["data.sources=[{path: a.jsonl}]", "data.sources.0.weight=2"], environ={}
    )
    assert cfg.data.sources[0].weight == 2


def test_unreadable_config_paths_are_user_errors(tmp_path, forge_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()
    r = forge_cli("--config", "adir", "config", "validate")
    assert r.code == 1 and "adir: cannot read" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "latin1.yaml").write_bytes("model:\n  name: caf\xe9\n".encode("latin-1"))
    r = forge_cli("--config", "latin1.yaml", "config", "validate")
    assert r.code == 1 and "not UTF-8" in r.stderr
