"""Every built-in renders byte for byte what its reference template renders, errors included.

The reference is the public template file, rendered with the transformers setup (the
sandboxed environment in forge.chat.jinja_env, itself checked against transformers in
test_chat_transformers.py). The battery is forge.chat.battery: 1-6 turns, with and without
system, both add_generation_prompt values, unicode, empty content, whitespace at the edges,
reasoning, tool calls and results, and the conversations templates refuse.
"""

from __future__ import annotations

import pytest

from forge.chat import builtin
from forge.chat.battery import cases, outcome
from forge.chat.markers import mark, parse
from forge.chat.spans import SpanFinder
from forge.chat.template import ChatTemplate, builtin_template

FAMILIES = [n for n, f in builtin.FAMILIES.items() if f.reference]
CASES = cases()


def reference_template(reference_dir, name: str) -> ChatTemplate:
    fam = builtin.FAMILIES[name]
    text = (reference_dir / fam.reference).read_text(encoding="utf-8")
    if fam.reference_pretty:
        text = builtin.strip_pretty(text)
    return ChatTemplate(name=f"ref:{name}", source_text=text, source="file")


def test_every_required_family_is_built_in():
    required = [
        "llama-2",
        "llama-3",
        "llama-3.1",
        "llama-3.2",
        "mistral-v0.1",
        "mistral-v0.3",
        "mistral-v1",
        "mixtral",
        "gemma",
        "gemma-3",
        "qwen1.5",
        "qwen2",
        "qwen2.5",
        "qwen3",
        "phi-3",
        "phi-3.5",
        "zephyr",
        "tinyllama",
        "smollm2",
        "olmo-2",
        "tulu",
        "falcon3",
        "deepseek-v2",
        "deepseek-v2.5",
        "deepseek-v3",
        "deepseek-r1-distill",
        "command-r",
        "vicuna",
        "alpaca",
        "chatml",
    ]
    assert len(required) == 30 and set(required) <= set(FAMILIES)


def test_battery_covers_what_it_claims():
    names = {c.name for c in CASES}
    assert {f"turns{n}-sys{s}-o0" for n in range(1, 7) for s in (0, 1)} <= names
    assert {c.add_generation_prompt for c in CASES} == {False, True}
    texts = [m.get("content") for c in CASES for m in c.messages]
    assert "" in texts and any(isinstance(t, str) and t != t.strip() for t in texts)
    assert any(isinstance(t, str) and any(ord(ch) > 0x2000 for ch in t) for t in texts)
    assert any(c.tools for c in CASES) and any("tool_calls" in m for c in CASES for m in c.messages)


@pytest.mark.parametrize("name", FAMILIES)
def test_builtin_matches_reference_byte_for_byte(reference_dir, name):
    mine = builtin_template(name)
    ref = reference_template(reference_dir, name)
    specials = dict(mine.special_tokens)
    errors = 0
    for case in CASES:
        got, want = outcome(mine, case, **specials), outcome(ref, case, **specials)
        assert got == want, f"{name} / {case.name} / gen={case.add_generation_prompt}"
        errors += got[0] == "error"
    # the battery reaches both the rendering and the refusing paths of templates that refuse
    assert errors < len(CASES)
    if not builtin.FAMILIES[name].system:
        assert errors > 0


@pytest.mark.parametrize("name", ["mistral-v0.1", "gemma", "llama-2", "mistral-v0.3"])
def test_refusals_are_the_templates_own_messages(name):
    t = builtin_template(name)
    bad = next(c for c in CASES if c.name == "two-users")
    kind, message = outcome(t, bad, **t.special_tokens)
    assert kind == "error" and "alternate" in message


@pytest.mark.parametrize("name", FAMILIES)
def test_builtins_render_the_same_trusted_and_sandboxed(name):
    """Built-ins compile without the sandbox for speed; the output must not change."""
    trusted = builtin_template(name)
    sandboxed = ChatTemplate(name=name, source_text=trusted.source_text, source="inline")
    for case in CASES[::3]:
        assert outcome(trusted, case, **trusted.special_tokens) == outcome(
            sandboxed, case, **trusted.special_tokens
        )


@pytest.mark.parametrize("name", FAMILIES)
def test_marked_render_is_the_plain_render_for_trusted_builtins(name):
    """Span finding skips its check render for built-ins that do not inspect content; that
    is only sound if markers never change their output. Checked on the whole battery."""
    t = builtin_template(name)
    finder = SpanFinder(t, **t.special_tokens)
    if not finder.trusted:
        pytest.skip("this template's rows are always checked")
    rendered = 0
    for case in CASES:
        kind, plain = outcome(t, case, **t.special_tokens)
        if kind == "error":
            continue
        rendered += 1
        marked = t.render_dicts(
            mark(case.messages),
            case.add_generation_prompt,
            case.tools,
            **t.special_tokens,
            **case.extra,
        )
        assert parse(marked)[0] == plain, case.name
    assert rendered > len(CASES) // 4  # the battery reached the template, not only its refusals


@pytest.mark.parametrize("name", FAMILIES)
def test_batched_rendering_matches_one_by_one(name):
    """encode_conversations renders built-ins in batches; each row must come out as if alone,
    and a refused row must not take its neighbours down."""
    t = builtin_template(name)
    finder = SpanFinder(t, **t.special_tokens)
    rows = [c for c in CASES if not c.extra and not c.add_generation_prompt]
    items = [(c.messages, c.tools) for c in rows]
    together = finder.render_many(items)
    for (msgs, tools), got in zip(items, together, strict=True):
        try:
            want = finder.render(msgs, tools=tools)
        except Exception as e:
            assert isinstance(got, Exception) and str(got) == str(e)
        else:
            assert got == want
    clean = [
        (m, tl) for (m, tl), g in zip(items, together, strict=True) if not isinstance(g, Exception)
    ]
    assert finder.render_many(clean) == [finder.render(m, tools=tl) for m, tl in clean]
