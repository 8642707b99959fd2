"""Message content None (a tool-call turn without text) reaches the templates that test for it."""

from __future__ import annotations

from forge.chat import Conversation, Message, get_template

CALL = {"type": "function", "function": {"name": "lookup", "arguments": '{"q": "x"}'}}
ROW = {
    "messages": [
        {"role": "user", "content": "Find x"},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "content": "42"},
        {"role": "assistant", "content": "It is 42."},
        {"role": "user", "content": ""},
    ]
}


def test_tool_call_turn_keeps_content_none_ordinary_empty_stays_empty():
    conv = Conversation.from_dict(ROW)
    dicts = conv.to_dicts()
    assert dicts[1]["content"] is None
    assert dicts[4]["content"] == ""
    # survives the trip through the normalized-shard form
    assert Conversation.from_dict(conv.to_dict()).to_dicts() == dicts


def test_deepseek_renders_the_call_from_a_content_none_turn():
    t = get_template("deepseek-v3")
    assert t.none_content
    conv = Conversation.from_dict(ROW)
    out = t.render(conv)
    assert "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>lookup" in out
    # the same turn written with "" content and as plain dicts renders the same
    as_dicts = [dict(m) for m in ROW["messages"]]
    as_dicts[1]["content"] = ""
    assert t.render([Message.from_dict(m) for m in as_dicts]) == out
    assert t.render(ROW["messages"]) == out


def test_templates_that_do_not_test_for_none_get_empty_text():
    t = get_template("qwen3")
    assert not t.none_content
    out = t.render(Conversation.from_dict(ROW))
    assert '"name": "lookup"' in out
