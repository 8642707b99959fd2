"""forge renders any template exactly as transformers does.

Every reference template (the 37 public files, pretty-printed ones as they are) is rendered by
forge's sandboxed environment and by transformers' own renderer over the battery; then model
folders are built from them (tokenizer_config.json string and list forms, chat_template.jinja)
and transformers' `apply_chat_template` on the loaded tokenizer is compared with forge, text
and token ids.
"""

from __future__ import annotations

import datetime
import json

import pytest

from forge.chat import Conversation, Message, encode_conversations, get_template, load_tokenizer
from forge.chat.battery import TOOLS, cases
from forge.chat.template import ChatTemplate

from .conftest import train_bpe

transformers = pytest.importorskip("transformers")
from transformers.utils.chat_template_utils import render_jinja_template  # noqa: E402

SPECIALS = {"bos_token": "<s>", "eos_token": "</s>"}
# forge gives every template a date (today unless model.template_date pins it) as date_string
# and through strftime_now; transformers' strftime_now gives today, and it gets the same
# date_string, so date-dependent templates are compared too.
DAY = datetime.date.today()
DATED = {"date_string": DAY.strftime("%d %b %Y")}
CASES = [c for c in cases() if not c.extra][::2]


def _drop_none(messages):
    return [{k: v for k, v in m.items() if v is not None} for m in messages]


def _transformers(source, case):
    try:
        out, _ = render_jinja_template(
            conversations=[_drop_none(case.messages)],
            tools=case.tools,
            chat_template=source,
            add_generation_prompt=case.add_generation_prompt,
            **SPECIALS,
            **DATED,
        )
        return "ok", out[0]
    except Exception as e:  # compare the message of whatever it raised
        return "error", str(e)


def _forge(source, case):
    t = ChatTemplate(name="t", source_text=source, source="file", template_date=DAY)
    try:
        return "ok", t.render_dicts(
            _drop_none(case.messages), case.add_generation_prompt, case.tools, **SPECIALS
        )
    except Exception as e:
        return "error", str(e)


def test_every_reference_template_renders_as_transformers_renders_it(reference_dir):
    files = sorted(reference_dir.glob("*.jinja"))
    assert len(files) >= 37
    for f in files:
        source = f.read_text(encoding="utf-8")
        for case in CASES:
            assert _forge(source, case) == _transformers(source, case), f"{f.name} / {case.name}"


def _folder(tmp_path, name, source, layout):
    folder = tmp_path / name
    folder.mkdir()
    tok = train_bpe(["<s>", "</s>", "<|im_start|>", "<|im_end|>", "<|eot_id|>"], vocab_size=350)
    tok.save(str(folder / "tokenizer.json"))
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>"}
    if layout == "string":
        cfg["chat_template"] = source
    elif layout == "list":
        cfg["chat_template"] = [
            {"name": "default", "template": source},
            {"name": "tool_use", "template": "{{ 'tools!' }}"},
        ]
    else:
        (folder / "chat_template.jinja").write_text(source, encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg), encoding="utf-8")
    return folder


CONVS = [
    Conversation([Message("user", "Hello there"), Message("assistant", "Hi! How can I help?")]),
    Conversation(
        [
            Message("system", "Be brief."),
            Message("user", "  Grüße 👋 "),
            Message("assistant", "Hallo!\n"),
            Message("user", "Bye"),
            Message("assistant", "Bye."),
        ]
    ),
]


@pytest.mark.parametrize(
    "ref,layout",
    [
        ("chatml-plain.jinja", "string"),
        ("llama-3-instruct.jinja", "list"),
        ("mistral-v1-with-system.jinja", "jinja"),
        ("qwen2.5-instruct.jinja", "jinja"),
        ("zephyr.jinja", "string"),
        ("llama-3.1-instruct.jinja", "list"),
    ],
)
def test_model_folder_template_matches_apply_chat_template(tmp_path, reference_dir, ref, layout):
    source = (reference_dir / ref).read_text(encoding="utf-8")
    folder = _folder(tmp_path, ref.removesuffix(".jinja"), source, layout)
    hf = transformers.AutoTokenizer.from_pretrained(str(folder))
    template = get_template(str(folder))
    assert template.source == "model-folder"
    tokenizer = load_tokenizer(folder)
    rows = encode_conversations(template, tokenizer, CONVS, policy="all")
    for conv, row in zip(CONVS, rows, strict=True):
        dicts = conv.to_dicts()
        text = hf.apply_chat_template(dicts, tokenize=False, **DATED)
        assert template.render(conv) == text
        ids = hf.apply_chat_template(dicts, tokenize=True, return_dict=False, **DATED)
        assert row.input_ids == list(ids)
    if layout == "list":
        tools_text = hf.apply_chat_template(
            CONVS[0].to_dicts(), tools=TOOLS, tokenize=False, **DATED
        )
        from forge.chat.model_folder import model_folder_template

        assert model_folder_template(folder, tools=True).render(CONVS[0], tools=TOOLS) == tools_text


def test_strftime_now_templates_render_with_the_pinned_date(reference_dir):
    source = (reference_dir / "llama-3.2-instruct.jinja").read_text(encoding="utf-8")
    t = ChatTemplate(
        name="t", source_text=source, source="file", template_date=datetime.date(2025, 2, 1)
    )
    out = t.render([{"role": "user", "content": "hi"}])
    assert "Today Date: 01 Feb 2025" in out
    today = ChatTemplate(name="t", source_text=source, source="file").render(
        [{"role": "user", "content": "hi"}]
    )
    assert datetime.date.today().strftime("%d %b %Y") in today


def test_llama_31_prints_todays_date_unless_pinned():
    t = get_template("llama-3.1")
    out = t.render([{"role": "user", "content": "hi"}])
    assert f"Today Date: {datetime.date.today():%d %b %Y}" in out
    assert "26 Jul 2024" not in out
    pinned = get_template("llama-3.1", datetime.date(2025, 1, 15))
    assert "Today Date: 15 Jan 2025" in pinned.render([{"role": "user", "content": "hi"}])


@pytest.fixture(scope="module")
def tokenizer_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    train_bpe(["<s>", "</s>", "<|im_start|>", "<|im_end|>", "<|eot_id|>"], vocab_size=350).save(
        str(path)
    )
    return path


def test_every_reference_template_from_a_model_folder(tmp_path, reference_dir, tokenizer_file):
    """Each of the 37 reference files, shipped in a model folder (the three layouts in turn),
    renders through forge as `apply_chat_template` renders it, refusals included."""
    import shutil

    no_system = Conversation(CONVS[1].messages[1:])
    layouts = ("string", "list", "jinja")
    files = sorted(reference_dir.glob("*.jinja"))
    rendered = refused = 0
    for k, f in enumerate(files):
        folder = tmp_path / f.stem
        folder.mkdir()
        shutil.copy(tokenizer_file, folder / "tokenizer.json")
        source = f.read_text(encoding="utf-8")
        cfg = {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": "<s>",
            "eos_token": "</s>",
        }
        layout = layouts[k % 3]
        if layout == "string":
            cfg["chat_template"] = source
        elif layout == "list":
            cfg["chat_template"] = [{"name": "default", "template": source}]
        else:
            (folder / "chat_template.jinja").write_text(source, encoding="utf-8")
        (folder / "tokenizer_config.json").write_text(json.dumps(cfg), encoding="utf-8")
        hf = transformers.AutoTokenizer.from_pretrained(str(folder))
        template = get_template(str(folder))
        for conv in (*CONVS, no_system):
            try:
                want = hf.apply_chat_template(conv.to_dicts(), tokenize=False, **DATED)
            except Exception as e:
                with pytest.raises(Exception) as got:
                    template.render(conv)
                assert str(e) in str(got.value), f.name
                refused += 1
            else:
                assert template.render(conv) == want, f"{f.name} ({layout})"
                rendered += 1
    assert len(files) >= 37 and rendered + refused == 3 * len(files)
    assert rendered > 2 * len(files) and refused > 0
