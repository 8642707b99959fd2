"""Format detection on real files and normalization of every format into Conversation/TextDoc."""

from __future__ import annotations

import pytest

from forge.data.detect import detect_format
from forge.data.normalize import Reject, normalize
from forge.data.read import RawError, iter_records
from forge.errors import ForgeError


def rows(path, n=1000):
    out = []
    for _, _, obj in iter_records(path):
        if not isinstance(obj, RawError):
            out.append(obj)
        if len(out) >= n:
            break
    return out


@pytest.mark.real_data
@pytest.mark.parametrize(
    "name,fmt",
    [
        ("alpaca_5000.json", "alpaca"),
        ("alpaca_en_demo.json", "alpaca"),
        ("dummy_conversation.json", "sharegpt"),
        ("conversation.json", "sharegpt"),
        ("glaive_toolcall_en_demo.json", "sharegpt"),
        ("mllm_demo.json", "openai"),
        ("question.jsonl", "prompts"),
        ("en_100_message.jsonl", "oasst"),
        ("en_100_tree.jsonl", "oasst"),
    ],
)
def test_detects_real_formats(shared_data, name, fmt):
    det = detect_format(rows(shared_data / "chat" / name))
    assert det.format == fmt
    assert det.confidence == 1.0
    assert det.rows >= min(1000, len(rows(shared_data / "chat" / name, 10**6)))


@pytest.mark.real_data
def test_tweets_are_text_with_meta(shared_data):
    sample = rows(shared_data / "tabular" / "BarackObama.csv")
    assert detect_format(sample).format == "text"
    doc = normalize(sample[0], "text")[0]
    assert doc.text.startswith("I'm grateful")
    assert doc.meta["created_at"] == "10/16/17 22:59"


def test_ambiguous_and_unknown_ask_for_a_mapping():
    mixed = [{"instruction": "a", "output": "b"}] * 600 + [{"prompt": "a", "completion": "b"}] * 600
    with pytest.raises(ForgeError) as e:
        detect_format(mixed)
    assert "ambiguous" in e.value.message and "fields" in e.value.hint
    with pytest.raises(ForgeError) as e:
        detect_format([{"question": "q", "answer": "a"}] * 20)
    assert "unknown format" in e.value.message and "question" in e.value.message


def test_fields_mapping_makes_a_pair():
    fields = {"prompt": "question", "response": "answer", "system": "sys"}
    from forge.data.detect import apply_fields

    sample = [apply_fields({"question": "q", "answer": "a", "sys": "s"}, fields)] * 20
    det = detect_format(sample)
    assert det.format == "pair"
    conv = normalize({"question": "q", "answer": "a", "sys": "s", "cat": 1}, "pair", fields)[0]
    assert [(m.role, m.content) for m in conv.messages] == [
        ("system", "s"),
        ("user", "q"),
        ("assistant", "a"),
    ]
    assert conv.meta == {"cat": 1}


def test_alpaca_with_system_and_history():
    row = {
        "instruction": "sum",
        "input": "1 2",
        "output": "3",
        "system": "be brief",
        "history": [["hi", "hello"]],
    }
    conv = normalize(row, "alpaca")[0]
    assert [(m.role, m.content) for m in conv.messages] == [
        ("system", "be brief"),
        ("user", "hi"),
        ("assistant", "hello"),
        ("user", "sum\n\n1 2"),
        ("assistant", "3"),
    ]


@pytest.mark.real_data
def test_glaive_tool_calls_and_string_tools(shared_data):
    row = rows(shared_data / "chat" / "glaive_toolcall_en_demo.json", 1)[0]
    assert isinstance(row["tools"], str)
    conv = normalize(row, "sharegpt")[0]
    assert conv.tools and conv.tools[0]["name"] == "search_recipes"
    roles = [m.role for m in conv.messages]
    assert "tool" in roles
    call = next(m for m in conv.messages if m.tool_calls)
    assert call.role == "assistant"
    assert call.tool_calls[0]["function"]["name"] == "search_recipes"
    assert roles[roles.index("tool") - 1] == "assistant"


def test_bad_rows_raise_reject():
    cases = [
        ({"instruction": 5, "output": "x"}, "alpaca", "wrong_type"),
        ({"instruction": "x"}, "alpaca", "missing_field"),
        ({"conversations": [{"from": "alien", "value": "x"}]}, "sharegpt", "unknown_role"),
        ({"conversations": "nope"}, "sharegpt", "wrong_type"),
        ({"conversations": [], "tools": "{bad"}, "sharegpt", "bad_tools"),
        ({"messages": [{"role": "user", "content": 3}]}, "openai", "wrong_type"),
        ([1, 2], "openai", "not_an_object"),
        ({"text": None}, "text", "missing_field"),
    ]
    for obj, fmt, reason in cases:
        with pytest.raises(Reject) as e:
            normalize(obj, fmt)
        assert e.value.reason == reason, (obj, e.value)


def _tree():
    def msg(mid, role, text, rank=None, replies=()):
        return {
            "message_id": mid,
            "role": role,
            "text": text,
            "rank": rank,
            "replies": list(replies),
        }

    return msg(
        "r",
        "prompter",
        "Q1",
        replies=[
            msg("a1", "assistant", "worse", 1),
            msg(
                "a0",
                "assistant",
                "best",
                0,
                [msg("p2", "prompter", "Q2", None, [msg("b", "assistant", "A2", 0)])],
            ),
            {**msg("ad", "assistant", "deleted", 0), "deleted": True},
        ],
    )


def test_oasst_best_path_and_all_paths():
    best = normalize(_tree(), "oasst")
    assert len(best) == 1
    assert [m.content for m in best[0].messages] == ["Q1", "best", "Q2", "A2"]
    every = normalize({"message_tree_id": "t", "prompt": _tree()}, "oasst", oasst_paths="all")
    assert sorted(tuple(m.content for m in c.messages) for c in every) == [
        ("Q1", "best", "Q2", "A2"),
        ("Q1", "worse"),
    ]


@pytest.mark.real_data
def test_oasst_real_trees(shared_data):
    for name in ("en_100_message.jsonl", "en_100_tree.jsonl"):
        convs = [c for r in rows(shared_data / "chat" / name) for c in normalize(r, "oasst")]
        assert len(convs) == 100
        for c in convs:
            assert c.messages[0].role == "user" and c.messages[-1].role == "assistant"


@pytest.mark.real_data
def test_mt_bench_prompts(shared_data):
    conv = normalize(rows(shared_data / "chat" / "question.jsonl", 1)[0], "prompts")[0]
    assert [m.role for m in conv.messages] == ["user", "user"]
    assert conv.meta["category"] == "writing"
