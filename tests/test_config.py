from __future__ import annotations

import textwrap

import pytest
import yaml

from forge.config import ForgeConfig, load_config, save_config
from forge.errors import ConfigError


def write(tmp_path, text):
    p = tmp_path / "forge.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_error_names_file_line_and_key(tmp_path):
    p = write(
        tmp_path,
        """\
        version: 1
        model:
          name: gpt2
          max_length: -5
        """,
    )
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert f"{p}:4: model.max_length: must be greater than 0 (got -5)" in e.value.message


def test_unknown_key_did_you_mean(tmp_path):
    p = write(tmp_path, "version: 1\ntraining:\n  batchsize: 4\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert f"{p}:3: training.batchsize: unknown key (did you mean 'batch_size'?)" in e.value.message


def test_env_and_set_overrides(tmp_path):
    p = write(tmp_path, "version: 1\ntraining:\n  lr: 0.1\n")
    cfg = load_config(p, environ={"FORGE_TRAINING__LR": "3e-4", "FORGE_MODEL__MAX_LENGTH": "512"})
    assert cfg.training.lr == pytest.approx(3e-4)
    assert cfg.model.max_length == 512
    cfg = load_config(p, sets=["training.lr=0.5"], environ={"FORGE_TRAINING__LR": "3e-4"})
    assert cfg.training.lr == 0.5  # --set wins over the environment


def test_bad_override_value_is_named(tmp_path):
    p = write(tmp_path, "version: 1\n")
    with pytest.raises(ConfigError) as e:
        load_config(p, sets=["training.batch_size=zero"], environ={})
    assert "training.batch_size" in e.value.message


def test_save_load_roundtrip(tmp_path):
    cfg = ForgeConfig.model_validate(
        {"model": {"name": "Qwen/Qwen2.5-0.5B-Instruct", "max_length": 1024}}
    )
    path = tmp_path / "forge.yaml"
    save_config(cfg, path)
    assert load_config(path, environ={}) == cfg
    assert yaml.safe_load(path.read_text())["version"] == 1


def test_invalid_yaml_reports_line(tmp_path):
    p = write(tmp_path, "version: 1\nmodel:\n  name: [unclosed\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert "invalid YAML" in e.value.message and str(p) in e.value.message
