"""Cleaning, sanitizing and filters (including the safe expression language)."""

from __future__ import annotations

import pytest

from forge.chat.conversation import Conversation, Message
from forge.config.data import CleaningConfig, FilterConfig
from forge.data.clean import Cleaner, sanitize
from forge.data.filters import Expression, Filters
from forge.data.normalize import Reject
from forge.data.records import TextDoc
from forge.errors import ForgeError


def conv(*pairs):
    return Conversation([Message(r, c) for r, c in pairs])


def test_cleaning_repairs_and_normalizes():
    c = Cleaner(CleaningConfig(strip_think=True, strip_tool_call=True))
    assert c.text("  caf\u00c3\u00a9 \r\nok\x07\n\n\n\nend ") == "caf\u00e9 \nok\n\nend"
    assert c.repaired == 1
    assert c.text("e\u0301") == "\u00e9"  # NFC
    # blank lines holding spaces or tabs are squeezed whatever their width
    for blank in (" ", "  ", "\t \t", ""):
        assert c.text(f"a\n{blank}\n\nb") == "a\n\nb", repr(blank)
    assert c.text("<think>plan</think>Answer <tool_call>{}</tool_call>") == "Answer"
    assert c.artifacts == 2
    assert Cleaner(CleaningConfig()).text("<think>x</think>y") == "<think>x</think>y"
    assert c.text("\u201cquoted\u201d") == "\u201cquoted\u201d"  # quotes are kept


def test_sanitize_roles_and_order():
    sanitize(conv(("system", "s"), ("user", "u"), ("assistant", "a")))
    trimmed = sanitize(conv(("user", "u"), ("assistant", "a"), ("user", "dangling")))
    assert [m.role for m in trimmed.messages] == ["user", "assistant"]
    tool = Conversation(
        [
            Message("user", "u"),
            Message("assistant", "", tool_calls=[{"type": "function", "function": {"name": "f"}}]),
            Message("tool", "42"),
            Message("assistant", "it is 42"),
        ]
    )
    sanitize(tool)
    for bad, reason in [
        (conv(("user", "u"), ("assistant", " ")), "empty_message"),
        (conv(("user", "u"), ("system", "s"), ("assistant", "a")), "bad_role_order"),
        (conv(("assistant", "a"), ("user", "u"), ("assistant", "b")), "bad_role_order"),
        (conv(("user", "u"), ("assistant", "a"), ("assistant", "b")), "bad_role_order"),
        (conv(("user", "u"), ("tool", "t"), ("assistant", "b")), "bad_role_order"),
        (conv(("user", "u"), ("wizard", "a")), "unknown_role"),
        (conv(("system", "s")), "no_user_turn"),
    ]:
        with pytest.raises(Reject) as e:
            sanitize(bad)
        assert e.value.reason == reason, bad


def test_length_ratio_and_expression_filters():
    cfg = FilterConfig(
        min_chars=3,
        max_chars=100,
        ratios=[{"numerator": "response", "denominator": "prompt", "min": 0.5}],
        expression="len(response) > 1 and lang == 'en' and not contains(lower(prompt), 'spam')",
    )
    f = Filters(cfg)
    ok = conv(("user", "hello"), ("assistant", "hi there"))
    ok.meta["lang"] = "en"
    f.check(ok, 13)
    cases = [
        (conv(("user", "a"), ("assistant", "b")), 2, "too_short"),
        (conv(("user", "a" * 90), ("assistant", "b" * 20)), 110, "too_long_chars"),
        (conv(("user", "long prompt here"), ("assistant", "ok")), 18, "ratio"),
        (conv(("user", "buy SPAM"), ("assistant", "no thanks")), 17, "expression"),
    ]
    for c, n, reason in cases:
        c.meta["lang"] = "en"
        with pytest.raises(Reject) as e:
            f.check(c, n)
        assert e.value.reason == reason
    doc = TextDoc("short text", meta={"lang": None})
    with pytest.raises(Reject) as e:
        Filters(FilterConfig(expression="len(lang) > 0")).check(doc, 10)
    assert e.value.reason == "expression_error"


@pytest.mark.parametrize(
    "src",
    [
        "__import__('os').system('echo hi')",
        "().__class__.__bases__",
        "open('/etc/passwd')",
        "[x for x in text]",
        "lambda: 1",
        "len(text",
    ],
)
def test_expression_refuses_anything_but_the_safe_subset(src):
    with pytest.raises(ForgeError):
        Expression(src)


def test_expression_evaluates():
    e = Expression("n_chars >= 3 and text[0] == 'a' and startswith(text, 'ab') and 2 * 3 + 1 == 7")
    assert e({"n_chars": 3, "text": "abc"}) is True
    assert Expression("'x' in text or turns > 2")({"text": "y", "turns": 3}) is True
