"""Whether a chat template is blind to message content: it writes each content verbatim and
never looks at it (no test, filter, comparison or method on it).

For such a template, marking the contents (forge.chat.markers) cannot change what it renders,
so span finding may trust the marked render without the second, plain render that checks it
(forge.chat.spans). The proof is made once per template and has two parts:

- static, on the template's syntax tree: every read of a message's `content` is written out
  as it is (`{{ m['content'] }}`, or joined to other strings with `~` or `+` inside one
  output), and the messages themselves, and the lists they come in, are only indexed,
  sliced, iterated, counted or tested for being defined: never compared, filtered, passed
  to a macro or a call, or written whole (any of which could see the contents);
- rendered: probe conversations with placeholder contents (with and without edge whitespace)
  render, marked, to exactly the plain render, and each placeholder appears unchanged.

Anything the static check does not understand counts as looking at content: the answer is
then False and every row keeps its check render, as before. Tools are another way in (a
template may write tool results or calls from content), so rows with tools are always checked
(see SpanFinder.needs_check).

A blind template's render is also fixed by the conversation's shape with the contents put in,
which `Skeletons` uses to run Jinja once per shape instead of once per row.
"""

from __future__ import annotations

from typing import Any

import jinja2
from jinja2 import nodes

from forge.chat.jinja_env import sandboxed_env
from forge.chat.markers import GUARDS, has_markers, mark, parse, split_ws

# `loop` attributes that hand out whole items of the loop (a message, when looping over them)
_ITEM_ATTRS = frozenset({"previtem", "nextitem", "cycle", "changed"})
# filters and tests that see only a list's length or a value's presence, never a content
_SAFE_FILTERS = frozenset({"length", "count"})
_SAFE_TESTS = frozenset({"defined", "undefined", "none"})
_MESSAGES = "messages"


def _parents(tree: nodes.Node) -> dict[int, nodes.Node]:
    out: dict[int, nodes.Node] = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in node.iter_child_nodes():
            out[id(child)] = node
            stack.append(child)
    return out


def _is_content_key(node: nodes.Node) -> bool:
    if isinstance(node, nodes.Getattr):
        return node.attr == "content"
    if isinstance(node, nodes.Getitem):
        return isinstance(node.arg, nodes.Const) and node.arg.value == "content"
    return False


def _written_verbatim(node: nodes.Node, parents: dict[int, nodes.Node]) -> bool:
    """`node` is an expression of an output (`{{ ... }}`), alone or joined to other strings
    with `~` or `+` (a content is a string, or None in both renders alike), and that
    output goes into the render itself, not into something the template can look at again
    (`{% set x %}...{% endset %}`, a filter block, a macro's or call block's result)."""
    parent = parents.get(id(node))
    while isinstance(parent, nodes.Concat | nodes.Add):
        parent = parents.get(id(parent))
    if not isinstance(parent, nodes.Output):
        return False
    while parent is not None:
        if isinstance(parent, nodes.AssignBlock | nodes.FilterBlock | nodes.Macro):
            return False
        if isinstance(parent, nodes.CallBlock) and not _is_generation_tag(parent):
            return False
        parent = parents.get(id(parent))
    return True


def _is_generation_tag(block: nodes.CallBlock) -> bool:
    """`{% generation %}` (forge.chat.jinja_env.GenerationTag) renders its body unchanged."""
    call = block.call
    return (
        isinstance(call, nodes.Call)
        and isinstance(call.node, nodes.ExtensionAttribute)
        and call.node.name == "_body"
    )


def static_blind(source: str) -> bool:
    """The syntax-tree half of the proof (see the module docstring)."""
    try:
        tree = sandboxed_env().parse(source)
    except jinja2.TemplateSyntaxError:
        return False
    parents = _parents(tree)
    every = list(tree.find_all(nodes.Node))
    for node in every:
        if isinstance(node, nodes.Getattr) and node.attr in _ITEM_ATTRS:
            return False
        if isinstance(node, nodes.Const) and node.value == "content":
            parent = parents.get(id(node))
            if not (isinstance(parent, nodes.Getitem) and parent.arg is node):
                return False  # "content" used as a key some other way (m.get("content"), ...)
        if _is_content_key(node) and not _written_verbatim(node, parents):
            return False
    # names that hold messages or lists of them: `messages`, loop targets over them, and
    # names set from them; grown until nothing new is added
    holders = {_MESSAGES}
    while True:
        added = False
        for node in every:
            if isinstance(node, nodes.For | nodes.Assign):
                source_expr = node.iter if isinstance(node, nodes.For) else node.node
                if _holds_messages(source_expr, holders):
                    for t in _names(node.target):
                        if t.name not in holders:
                            holders.add(t.name)
                            added = True
        if not added:
            break
    return all(
        _safe_use(node, parents)
        for node in every
        if isinstance(node, nodes.Name) and node.ctx == "load" and node.name in holders
    )


def _names(target: nodes.Node) -> list[nodes.Name]:
    """The names a loop or `set` target binds (one name, or a tuple of them)."""
    if isinstance(target, nodes.Name):
        return [target]
    return list(target.find_all(nodes.Name))


def _holds_messages(expr: nodes.Node, holders: set[str]) -> bool:
    """Whether `expr` may evaluate to a message or a list of them (an index or a slice of a
    holder, or a holder itself); a field of a message (`m['role']`) does not."""
    while True:
        if isinstance(expr, nodes.Name):
            return expr.name in holders
        if isinstance(expr, nodes.Getitem) and not (
            isinstance(expr.arg, nodes.Const) and isinstance(expr.arg.value, str)
        ):
            expr = expr.node
            continue
        if isinstance(expr, nodes.CondExpr):
            return _holds_messages(expr.expr1, holders) or (
                expr.expr2 is not None and _holds_messages(expr.expr2, holders)
            )
        return False


def _safe_use(node: nodes.Node, parents: dict[int, nodes.Node]) -> bool:
    """A load of a message holder is only indexed, sliced, iterated, counted or tested for
    presence; a string key reads a field (content fields were checked already), and a
    non-string index or slice gives a message or list again, whose use is checked in turn."""
    while True:
        parent = parents.get(id(node))
        if isinstance(parent, nodes.Getitem) and parent.node is node:
            if isinstance(parent.arg, nodes.Const) and isinstance(parent.arg.value, str):
                return _field_use(parent, parents)
            node = parent
            continue
        if isinstance(parent, nodes.Getattr) and parent.node is node:
            return _field_use(parent, parents)
        if isinstance(parent, nodes.For) and parent.iter is node:
            return True
        if isinstance(parent, nodes.Assign) and parent.node is node:
            return isinstance(parent.target, nodes.Name)
        if isinstance(parent, nodes.Filter) and parent.node is node:
            return parent.name in _SAFE_FILTERS
        if isinstance(parent, nodes.Test) and parent.node is node:
            return parent.name in _SAFE_TESTS
        if isinstance(parent, nodes.CondExpr) and parent.test is not node:
            node = parent  # `a if c else b`: the value is a holder again; check its use
            continue
        return False


def _field_use(access: nodes.Node, parents: dict[int, nodes.Node]) -> bool:
    """A field read off a message (`m['role']`, `m.content`): fine unless it is a method
    called on the message (`m.items()`, `m.get(...)`), which could hand out its content."""
    parent = parents.get(id(access))
    return not (isinstance(parent, nodes.Call) and parent.node is access)


_PROBES = (
    [("user", "\ue011"), ("assistant", "\ue012")],
    [("system", "\ue010"), ("user", "\ue011"), ("assistant", "\ue012")],
    [("user", "\ue011"), ("assistant", "\ue012"), ("user", "\ue013"), ("assistant", "\ue014")],
)


def rendered_blind(render: Any) -> bool:
    """The rendered half of the proof: `render(messages) -> str` (the template with its special
    tokens) gives, for probe conversations, a marked render equal to the plain one, with every
    placeholder content in it unchanged and in order. At least one probe must render."""
    ok = 0
    for shape in _PROBES:
        for pad in ("", " \n"):
            msgs = [{"role": r, "content": pad + c + "x y" + pad} for r, c in shape]
            try:
                plain = render(msgs)
            except Exception:
                continue
            try:
                marked = parse(render(mark(msgs)))[0]
            except Exception:
                return False
            if marked != plain:
                return False
            at = 0
            for m in msgs:
                k = plain.find(m["content"], at)
                if k < 0:
                    return False
                at = k + len(m["content"])
            ok += 1
    return ok > 0


SLOT = "\ue005"
"""Stands for a message's content in a skeleton render, followed by the message's index as
one character from _SLOT_ID0 on (SpanFinder.render sends no more messages than markers.py's
MAX_MESSAGES, so the index stays in the private-use area)."""
_SLOT_ID0 = 0xE100
_MAX_SHAPES = 4096


def _shape(messages: list[dict]) -> tuple | None:
    """What a blind template's render may depend on: every field of every message but the
    content, in order. None when a content is not a string (a skeleton holds strings)."""
    key: list = []
    for m in messages:
        if not isinstance(m.get("content"), str):
            return None
        if len(m) == 2 and isinstance(m.get("role"), str):
            key.append(m["role"])  # the common message: role and content only
            continue
        key.append(
            tuple(
                (k, v) if isinstance(v, str) else (k, 0, repr(v))
                for k, v in m.items()
                if k != "content"
            )
        )
    return tuple(key)


class Skeletons:
    """Renders of a blind template by conversation shape (forge.chat.blind's proof).

    A blind template writes each content verbatim and never looks at it, so what it renders
    for a conversation is fixed by the conversation's shape (the roles and every other field
    of each message, in order) with the contents put in: the template runs once per shape,
    on placeholder contents, and each conversation of that shape is the skeleton's pieces
    joined around its contents. `render` is the plain render (no tools, no generation
    prompt); `forbidden` is text the template or its special tokens write, where a
    placeholder character would be ambiguous. At most _MAX_SHAPES shapes are kept; a shape
    past that, or one the template refuses, is rendered by the caller as before."""

    def __init__(self, render: Any, forbidden: str = ""):
        self._render = render
        self._shapes: dict[tuple, tuple[list[str], list[int]] | None] = {}
        self.enabled = SLOT not in forbidden

    def _skeleton(self, messages: list[dict]) -> tuple[list[str], list[int]] | None:
        if not self.enabled:
            return None
        key = _shape(messages)
        if key is None:
            return None
        skel = self._shapes.get(key, False)
        if skel is False:
            if len(self._shapes) >= _MAX_SHAPES:
                return None
            skel = self._shapes[key] = self._build(messages)
        return skel

    def fill(self, messages: list[dict], contents: list[str]) -> str | None:
        """The render of `messages` with `contents` (one string per message) written where
        the template writes each message's content; None when no skeleton serves it."""
        skel = self._skeleton(messages)
        if skel is None:
            return None
        pieces, slots = skel
        out = [pieces[0]]
        for i, piece in zip(slots, pieces[1:], strict=True):
            out.append(contents[i])
            out.append(piece)
        return "".join(out)

    def marked(self, messages: list[dict]) -> tuple[str, dict[int, list[int]], list[int]] | None:
        """What `parse(render(mark(messages)))` gives (guarded marks, one index per
        message), computed from the skeleton without building the marked text; None when
        no skeleton serves the conversation."""
        skel = self._skeleton(messages)
        if skel is None:
            return None
        pieces, slots = skel
        guards: list[int] = []
        pos: dict[int, list[int]] = {GUARDS: guards}
        every: list[int] = []
        out = [pieces[0]]
        at = len(pieces[0])
        for i, piece in zip(slots, pieces[1:], strict=True):
            c = messages[i]["content"]
            if c:
                lead, core, trail = split_ws(c)
                if lead:
                    guards.append(at)
                a = at + len(lead)
                b = a + len(core)
                slot = pos.get(i)
                if slot is None:
                    pos[i] = [a, b]
                else:  # written twice
                    slot[0] = slot[1] = -2
                every.append(a)
                every.append(b)
                if trail:
                    guards.append(b + len(trail))
                out.append(c)
                at += len(c)
            out.append(piece)
            at += len(piece)
        return "".join(out), pos, every

    def _build(self, messages: list[dict]) -> tuple[list[str], list[int]] | None:
        if any(SLOT in v for m in messages for v in m.values() if isinstance(v, str)):
            return None
        probe = [{**m, "content": SLOT + chr(_SLOT_ID0 + i)} for i, m in enumerate(messages)]
        try:
            rendered = self._render(probe)
        except Exception:
            return None  # the template refuses this shape: the caller's render says why
        parts = rendered.split(SLOT)
        pieces, slots = [parts[0]], []
        for part in parts[1:]:
            i = ord(part[0]) - _SLOT_ID0 if part else -1
            if not 0 <= i < len(messages):
                return None
            slots.append(i)
            pieces.append(part[1:])
        if any(has_markers(piece) for piece in pieces):
            return None  # the template writes marker characters itself: parse would see them
        return pieces, slots
