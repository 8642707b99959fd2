"""Templates proven blind to content (forge.chat.blind) skip the check render of span finding;
that is only sound if markers never change what such a template renders."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forge.chat import builtin
from forge.chat.battery import cases, outcome
from forge.chat.blind import rendered_blind, static_blind
from forge.chat.markers import mark, parse
from forge.chat.spans import SpanFinder
from forge.chat.template import ChatTemplate, builtin_template

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# HF's chatml spelling: one output of `+`-joined strings, a system message taken off the list
CHATML_PLUS = (
    "{% if messages[0]['role'] == 'system' %}{% set rest = messages[1:] %}"
    "{{ '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}"
    "{% else %}{% set rest = messages %}{% endif %}"
    "{% for message in rest %}{{ '<|im_start|>' + message.role + '\n' + message.content"
    " + '<|im_end|>' + '\n' }}{% endfor %}"
)
LOOKS = {
    "trims": "{% for m in messages %}{{ m['content'] | trim }}\n{% endfor %}",
    "tests a prefix": "{% for m in messages %}{% if m['content'].startswith('x') %}X"
    "{% endif %}{{ m['content'] }}{% endfor %}",
    "compares": "{% for m in messages %}{% if m['content'] == 'hi' %}!{% endif %}"
    "{{ m['content'] }}{% endfor %}",
    "captures": "{% for m in messages %}{% set c %}{{ m['content'] }}{% endset %}"
    "{{ c | upper }}{% endfor %}",
    "sets": "{% for m in messages %}{% set c = m['content'] %}{{ c[1:] }}{% endfor %}",
    "filters the list": "{{ messages | map(attribute='content') | join('\n') }}",
    "dumps messages": "{{ messages | tojson }}",
    "compares messages": "{% for m in messages %}{% if m == messages[0] %}*{% endif %}"
    "{{ m['content'] }}{% endfor %}",
    "calls get": "{% for m in messages %}{{ m.get('content') }}{% endfor %}",
    "iterates items": "{% for m in messages %}{% for k, v in m.items() %}{{ v }}{% endfor %}"
    "{% endfor %}",
    "passes to a macro": "{% macro f(x) %}{{ x['content'] }}{% endmacro %}"
    "{% for m in messages %}{{ f(m) }}{% endfor %}",
    "peeks ahead": "{% for m in messages %}{{ m['content'] }}{% if loop.nextitem %}"
    "{{ loop.nextitem.role }}{% endif %}{% endfor %}",
}


def _blind(source: str) -> bool:
    t = ChatTemplate(name="t", source_text=source, source="inline")
    return SpanFinder(t).blind


@pytest.mark.parametrize("source", [CHATML, CHATML_PLUS], ids=["chatml", "chatml-plus"])
def test_chatml_like_templates_are_blind(source):
    assert static_blind(source)
    assert _blind(source)


@pytest.mark.parametrize("name", sorted(LOOKS))
def test_templates_that_look_at_content_are_not_blind(name):
    assert not static_blind(LOOKS[name])
    assert not _blind(LOOKS[name])


def test_the_render_half_catches_what_the_syntax_half_cannot_see():
    # written verbatim, but the render moves the first message after the others
    moved = "{% for m in messages[1:] %}{{ m['content'] }}{% endfor %}{{ messages[0]['content'] }}"
    t = ChatTemplate(name="t", source_text=moved, source="inline")
    assert static_blind(moved)
    assert not rendered_blind(lambda msgs: t.render_dicts(msgs))


def test_the_proof_is_kept_on_the_template():
    t = ChatTemplate(name="t", source_text=CHATML, source="inline")
    assert SpanFinder(t).blind
    assert t.__dict__["_blind_proofs"]  # a later finder (the next batch) reuses it


def _marked_equals_plain(t: ChatTemplate, specials: dict) -> int:
    rendered = 0
    for case in cases():
        if case.tools:
            continue  # rows with tools are always checked
        kind, plain = outcome(t, case, **specials)
        if kind == "error":
            continue
        rendered += 1
        marked = t.render_dicts(
            mark(case.messages), case.add_generation_prompt, None, **specials, **case.extra
        )
        assert parse(marked)[0] == plain, case.name
    return rendered


def test_blind_builtins_render_the_same_marked():
    """Every built-in template proven blind renders the battery the same marked and plain."""
    proven = []
    for name in sorted(builtin.FAMILIES):
        t = builtin_template(name)
        if SpanFinder(t, **t.special_tokens).blind:
            assert _marked_equals_plain(t, t.special_tokens) > 0, name
            proven.append(name)
    assert len(proven) >= 5, proven


def _blind_references(reference_dir):
    """(template, special tokens) of each public model template proven blind."""
    for name, fam in builtin.FAMILIES.items():
        if not fam.reference:
            continue
        text = (reference_dir / fam.reference).read_text(encoding="utf-8")
        if fam.reference_pretty:
            text = builtin.strip_pretty(text)
        t = ChatTemplate(name=f"ref:{name}", source_text=text, source="file")
        specials = builtin_template(name).special_tokens
        if SpanFinder(t, **specials).blind:
            yield t, specials


def test_blind_reference_templates_render_the_same_marked(reference_dir):
    """The public templates of real models: where one is proven blind, the whole battery
    (without tools) renders the same marked and plain."""
    proven = list(_blind_references(reference_dir))
    for t, specials in proven:
        _marked_equals_plain(t, specials)
    assert proven


# -- skeletons: one Jinja render per conversation shape -------------------------------------


def _both_ways(t: ChatTemplate, specials: dict, messages: list[dict]):
    """SpanFinder.render of `messages` through the template's skeletons and through Jinja:
    (result or exception type and text) for each."""
    out = []
    for use in (True, False):
        f = SpanFinder(t, **specials)
        if not use:
            f.__dict__["skeletons"] = None  # the cached_property, switched off
        try:
            out.append(f.render(t.inputs(messages)))
        except Exception as e:
            out.append((type(e).__name__, str(e)))
    return out


def _battery_same(t: ChatTemplate, specials: dict) -> int:
    same = 0
    for case in cases():
        if case.tools or case.add_generation_prompt:
            continue  # skeletons serve neither
        with_skeleton, with_jinja = _both_ways(t, {**specials, **case.extra}, case.messages)
        assert with_skeleton == with_jinja, case.name
        same += 1
    return same


def test_skeletons_render_the_battery_as_jinja_does():
    """Every blind built-in and the chatml spellings: text, marker positions and errors."""
    done = 0
    for name in sorted(builtin.FAMILIES):
        t = builtin_template(name)
        if SpanFinder(t, **t.special_tokens).blind:
            assert _battery_same(t, t.special_tokens) > 0, name
            done += 1
    for source in (CHATML, CHATML_PLUS):
        t = ChatTemplate(name="t", source_text=source, source="inline")
        assert _battery_same(t, {}) > 0
        assert t.__dict__["_skeletons"]  # kept for the next finder, with the proof
    assert done >= 5


def test_skeleton_reference_templates(reference_dir):
    """The public templates of real models that are proven blind."""
    proven = list(_blind_references(reference_dir))
    for t, specials in proven:
        _battery_same(t, specials)
    assert proven


TWICE = "{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}|{{ m['content'] }}{% endfor %}"
REFUSES = (
    "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('no system') }}"
    "{% endif %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
)
NAMED = "{% for m in messages %}{{ m['role'] }}{% if m.name %}({{ m.name }}){% endif %}: {{ m['content'] }}\n{% endfor %}"


@pytest.mark.parametrize("source", [CHATML, CHATML_PLUS, TWICE, REFUSES, NAMED])
@given(
    contents=st.lists(
        st.lists(
            st.sampled_from(["a", "é", " ", "\n", "\t", "x y", "猫", "<|im_end|>"]), max_size=8
        ).map("".join),
        min_size=1,
        max_size=5,
    ),
    system=st.booleans(),
    name=st.sampled_from([None, "bob", 7]),
)
@settings(max_examples=60, deadline=None)
def test_skeletons_equal_jinja_on_any_content(source, contents, system, name):
    """Edge whitespace, empty contents, contents written twice, a shape the template refuses,
    extra fields of any type: the skeleton gives what the Jinja render gives."""
    msgs = [{"role": "system", "content": "be brief "}] if system else []
    for k, c in enumerate(contents):
        m = {"role": "user" if k % 2 == 0 else "assistant", "content": c}
        if name is not None and k == 0:
            m["name"] = name
        msgs.append(m)
    t = ChatTemplate(name="t", source_text=source, source="inline")
    assert SpanFinder(t).blind
    with_skeleton, with_jinja = _both_ways(t, {}, msgs)
    assert with_skeleton == with_jinja


def test_a_template_writing_the_slot_character_gets_no_skeletons():
    t = ChatTemplate(name="t", source_text="\ue005" + CHATML, source="inline")
    f = SpanFinder(t)
    assert f.blind and not f.skeletons.enabled
    assert (
        f.render([{"role": "user", "content": "hi"}])[0] == "\ue005<|im_start|>user\nhi<|im_end|>\n"
    )
