"""`forge template ...` from the command line, and the template choice order."""

from __future__ import annotations

import json

import pytest

from forge.chat import get_template, resolve_template
from forge.config.model import ModelConfig
from forge.errors import ForgeError


def test_template_list_json(forge_cli):
    r = forge_cli("template", "list", "--json")
    assert r.code == 0, r
    rows = json.loads(r.stdout)
    names = {row["name"] for row in rows}
    assert {"llama-3.1", "qwen2.5", "gemma", "chatml"} <= names
    assert any("meta-llama/Llama-3.1-8B-Instruct" in row["models"] for row in rows)


def test_template_show_prints_the_source(forge_cli):
    r = forge_cli("template", "show", "gemma")
    assert r.code == 0 and "<start_of_turn>" in r.stdout and "google/gemma-2-2b-it" in r.stdout


def test_template_render_highlights_trained_spans(forge_cli, tmp_path, family_tokenizer):
    conv = {
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello there"},
        ]
    }
    f = tmp_path / "conv.json"
    f.write_text(json.dumps(conv), encoding="utf-8")
    tok = tmp_path / "tokenizer.json"
    family_tokenizer("chatml").tokenizer.save(str(tok))
    r = forge_cli(
        "template",
        "render",
        "--model",
        "chatml",
        "--file",
        str(f),
        "--tokenizer",
        str(tok),
        "--json",
    )
    assert r.code == 0, r
    out = json.loads(r.stdout)["conversations"][0]
    (s, e) = out["spans"][0]
    assert out["text"][s:e] == "hello there<|im_end|>"
    assert 0 < out["trained_tokens"] < out["tokens"]
    r = forge_cli("template", "render", "--model", "chatml", "--file", str(f))
    assert r.code == 0 and "hello there" in r.stdout


def test_template_check_runs_the_battery(forge_cli):
    r = forge_cli("template", "check", "--model", "gemma", "--json")
    assert r.code == 0, r
    rep = json.loads(r.stdout)
    assert rep["refused"] > 0 and "TemplateRaised: System role not supported" in rep["refusals"]
    assert rep["answers"] > 0 and rep["spans_ok"] == rep["answers"]


def test_unknown_template_is_a_red_line_with_candidates(forge_cli):
    r = forge_cli("template", "show", "llama3.1")
    assert r.code == 1 and "unknown chat template" in r.stderr and "llama-3.1" in r.stderr
    assert "Traceback" not in r.stderr


def _folder(tmp_path, template: str | None):
    d = tmp_path / "model"
    d.mkdir()
    cfg = {"bos_token": "<s>", "eos_token": "</s>"}
    if template:
        cfg["chat_template"] = template
    (d / "tokenizer_config.json").write_text(json.dumps(cfg), encoding="utf-8")
    return d


def test_resolution_order(tmp_path):
    folder = _folder(tmp_path, "{{ 'own:' }}{% for m in messages %}{{ m.content }}{% endfor %}")
    # forge.yaml explicit wins over the folder's own
    assert resolve_template(ModelConfig(name=str(folder), chat_template="zephyr")).name == "zephyr"
    own = resolve_template(ModelConfig(name=str(folder)))
    assert (
        own.source == "model-folder" and own.render([{"role": "user", "content": "x"}]) == "own:x"
    )
    assert own.special_tokens["eos_token"] == "</s>"
    # inline and file templates
    assert (
        resolve_template(ModelConfig(chat_template="{{ messages[0].content }}")).source == "inline"
    )
    f = tmp_path / "t.jinja"
    f.write_text("{{ messages[0].content }}!", encoding="utf-8")
    t = resolve_template(ModelConfig(chat_template=str(f)))
    assert t.source == "file" and t.render([{"role": "user", "content": "a"}]) == "a!"


def test_no_silent_fallback(tmp_path):
    folder = _folder(tmp_path, None)
    with pytest.raises(ForgeError, match="has none") as e:
        resolve_template(ModelConfig(name=str(folder)))
    assert "llama-3.1" in e.value.hint
    with pytest.raises(ForgeError, match="cannot choose a chat template"):
        resolve_template(ModelConfig())


def test_named_templates_list_form(tmp_path):
    d = _folder(tmp_path, None)
    cfg = json.loads((d / "tokenizer_config.json").read_text())
    cfg["chat_template"] = [
        {"name": "rag", "template": "rag"},
        {"name": "tool_use", "template": "tools"},
    ]
    (d / "tokenizer_config.json").write_text(json.dumps(cfg))
    with pytest.raises(ForgeError, match="none is `default`"):
        get_template(str(d))
    from forge.chat.model_folder import model_folder_template

    assert (
        model_folder_template(d, tools=True).render([{"role": "user", "content": "x"}]) == "tools"
    )
    # forge.yaml picks one by name, as the error's hint says
    with pytest.raises(ForgeError, match="none is `default`") as e:
        resolve_template(ModelConfig(name=str(d)))
    assert "rag" in e.value.hint
    rag = resolve_template(ModelConfig(name=str(d), chat_template="rag"))
    assert rag.render([{"role": "user", "content": "x"}]) == "rag" and rag.name.endswith(":rag")


def test_catalog_family_is_used_for_a_model_name(tmp_path):
    t = resolve_template(ModelConfig(name="meta-llama/Llama-3.1-8B-Instruct"))
    assert t.name == "llama-3.1" and t.source == "builtin"
    assert resolve_template(ModelConfig(name="TheBloke/Llama-2-7B-Chat-GPTQ")).name == "llama-2"
    with pytest.raises(ForgeError, match="base model"):
        resolve_template(ModelConfig(name="gpt2"))
    with pytest.raises(ForgeError, match="did you mean|unknown|not"):
        resolve_template(ModelConfig(name="no-such-org/no-such-model-xyz"))
    # the folder's own template comes before the catalog's family
    folder = _folder(tmp_path, "{{ 'own' }}")
    (folder / "config.json").write_text(
        json.dumps({"model_type": "llama", "_name_or_path": "meta-llama/Llama-3.1-8B-Instruct"})
    )
    assert resolve_template(ModelConfig(name=str(folder))).source == "model-folder"


def test_template_date_pins_date_dependent_templates():
    import datetime

    t = get_template("llama-3.2", datetime.date(2024, 12, 25))
    assert "Today Date: 25 Dec 2024" in t.render([{"role": "user", "content": "hi"}])
    t = resolve_template(
        ModelConfig(chat_template="llama-3.1", template_date=datetime.date(2025, 1, 2))
    )
    assert "Today Date: 02 Jan 2025" in t.render([{"role": "user", "content": "hi"}])


def test_template_refusal_is_a_red_line_not_a_traceback(forge_cli, tmp_path):
    f = tmp_path / "c.json"
    f.write_text(json.dumps([{"role": "system", "content": "x"}, {"role": "user", "content": "y"}]))
    r = forge_cli("template", "render", "--model", "gemma", "--file", str(f))
    assert r.code == 1 and "System role not supported" in r.stderr and "Traceback" not in r.stderr
    r = forge_cli("template", "render", "--model", "gemma")  # the sample drops its system turn here
    assert r.code == 0 and "<start_of_turn>model" in r.stdout


def test_check_tells_whether_a_folder_template_is_the_builtin(forge_cli, tmp_path, reference_dir):
    folder = _folder(
        tmp_path, (reference_dir / "qwen2.5-instruct.jinja").read_text(encoding="utf-8")
    )
    r = forge_cli("template", "check", "--model", str(folder), "--json")
    assert r.code == 0, r
    rep = json.loads(r.stdout)
    assert rep["source"] == "model-folder" and rep["matches_builtin"] is True
    assert any("qwen2.5" in n for n in rep["notes"])
    r = forge_cli("template", "show", "meta-llama/Llama-3.1-8B-Instruct")
    assert r.code == 0 and "Today Date" in r.stdout
