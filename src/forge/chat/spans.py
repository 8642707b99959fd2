"""Where the trainable text is in a rendered conversation, for any template, in one render.

Each message's content is wrapped in private-use marker characters that carry the message's
index, and the conversation is rendered once. Removing the markers gives the text, and their
positions give where each message's content landed, whatever the template put around it or
where it moved it (a system prompt folded into a user turn, say).

Templates change content: `trim` and `.strip()` are handled by putting the content's leading
and trailing whitespace *outside* the index markers, behind guard characters that Python counts
as whitespace and JSON leaves alone (U+2028, U+2029): a template that strips, strips them with
the whitespace; one that does not keeps them, and the span grows to cover the whitespace it kept. Templates that cut content
(reasoning before </think>) drop the start marker; the span then starts after the assistant
header, which is also where a reply's template-made text (a <think> block, a tool call) begins.
An assistant span ends after the first end-of-turn string (eos, <|im_end|>, ...) that follows
its content, so the model learns to stop.

Markers could change what a template does (e.g. one that tests `content.startswith(...)`), so
the marked render is checked against a plain render unless the template is a built-in known not
to look at content in a way markers change, or a template proven blind to content (it writes
contents verbatim and never looks at them, forge.chat.blind; rows with tools are still checked).
A mismatch is never silent: the row is rejected.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from forge.chat.blind import Skeletons, rendered_blind, static_blind
from forge.chat.jinja_env import compile_template
from forge.chat.markers import (
    GUARDS,
    MAX_MESSAGES,
    MODES,
    SEP,
    UNGUARDED,
    MaskError,
    has_marker_chars,
    mark,
    parse,
    split_ws,
)
from forge.chat.template import ChatTemplate

# how templates open a tool call they write without a reply header (Mistral, Falcon3, ...)
TOOL_CALL_OPENERS = (
    "[TOOL_CALLS]",
    "<tool_call>",
    "<|python_tag|>",
    "<｜tool▁calls▁begin｜>",
    "<｜tool▁call▁begin｜>",
    "<function",
)
_PROBE_USER = "\ue002"
_PROBE_ASSISTANT = "\ue003"


@dataclass(slots=True)
class MessageSpan:
    index: int
    start: int
    end: int


class SpanFinder:
    """Per-template state for span finding: the assistant header and the end-of-turn strings."""

    def __init__(self, template: ChatTemplate, **extra: Any):
        """`extra` goes to every render (special tokens such as bos_token and eos_token)."""
        self.template = template
        self.extra = extra
        stops = list(template.end_of_turn)
        eos = extra.get("eos_token") or template.special_tokens.get("eos_token")
        if eos and eos not in stops:
            stops.append(eos)
        self.stops = tuple(s for s in stops if s)
        fam = template.family
        # Built-ins that do not look at content beyond trimming can trust the marked render.
        self.trusted = fam is not None and not fam.alters_content
        self.careful = fam is not None and bool(fam.alters_content)
        self.identity = fam is not None and "identity" in fam.alters_content

    @cached_property
    def header(self) -> str:
        """The text that opens an assistant reply (e.g. `<|im_start|>assistant\\n`), as the
        template writes it inside a conversation; empty for templates without a generation
        prompt. Found from probes: the generation prompt, and the text between a user turn
        and the reply that follows it."""
        t = self.template
        user = {"role": "user", "content": _PROBE_USER}
        try:
            with_prompt = t.render_dicts([user], True, None, **self.extra)
            without = t.render_dicts([user], False, None, **self.extra)
            four = t.render_dicts(
                [
                    user,
                    {"role": "assistant", "content": _PROBE_ASSISTANT},
                    dict(user),
                    {"role": "assistant", "content": "x"},
                ],
                False,
                None,
                **self.extra,
            )
        except Exception:
            return ""
        k = 0
        while k < min(len(with_prompt), len(without)) and with_prompt[k] == without[k]:
            k += 1
        prompt = with_prompt[k:]
        u, q = four.find(_PROBE_USER), four.find(_PROBE_ASSISTANT)
        if not prompt or u < 0 or q < u:
            return ""
        between = four[u + 1 : q]
        # the longest head of the prompt that the template also writes before a reply
        for n in range(len(prompt), 0, -1):
            at = between.rfind(prompt[:n])
            if at >= 0:
                return between[at:] if n >= min(4, len(prompt)) else ""
        return ""

    @cached_property
    def blind(self) -> bool:
        """Whether the template is proven blind to content (forge.chat.blind): then markers
        cannot change its render and rows without tools skip the check render. Proven once
        per template and special tokens, and kept on the template for later finders."""
        t = self.template
        key = tuple(sorted((k, repr(v)) for k, v in self.extra.items()))
        proofs = t.__dict__.setdefault("_blind_proofs", {})
        if key not in proofs:
            proofs[key] = static_blind(t.source_text) and rendered_blind(
                lambda msgs: t.render_dicts(msgs, False, None, **self.extra)
            )
        return proofs[key]

    def needs_check(self, messages: list[dict], tools: Any) -> bool:
        if self.trusted:
            return False
        if not tools and self.blind:
            return False
        if not self.careful:
            return True
        if tools:
            return True
        for m in messages:
            c = m.get("content")
            if not isinstance(c, str):
                return True
            if (
                c != c.strip()
                or "think>" in c
                or "<tool_response>" in c
                or "reasoning_content" in m
            ):
                return True
        return False

    def render(
        self, messages: list[dict], tools: Any = None, add_generation_prompt: bool = False
    ) -> tuple[str, dict[int, list[int]], list[int]]:
        """Render with markers; returns (text, marker positions, all marker positions).
        Raises the template's own error for a conversation it refuses, MaskError when the
        markers changed the output."""
        t = self.template
        if len(messages) > MAX_MESSAGES or has_marker_chars(messages):
            text = t.render_dicts(messages, add_generation_prompt, tools, **self.extra)
            return text, {}, []
        check = self.needs_check(messages, tools)
        if not (check or add_generation_prompt) and tools is None and self.skeletons is not None:
            if self.identity:
                marked = mark(messages, MODES[0], self.identity)
                filled = self.skeletons.fill(messages, [m.get("content") for m in marked])
                found = None if filled is None else parse(filled)
            else:
                found = self.skeletons.marked(messages)
            if found is not None:
                return found
        plain = None
        # fallbacks for templates that strip only some characters, and for templates that
        # compare whole messages (equal user messages then share their markers)
        attempts = [(mode, self.identity) for mode in MODES]
        if not self.identity:
            attempts.append(("guarded", True))
        for mode, same_ids in attempts:
            rendered = t.render_dicts(
                mark(messages, mode, same_ids), add_generation_prompt, tools, **self.extra
            )
            text, pos, every = parse(rendered)
            if not check:
                return text, pos, every
            if plain is None:
                plain = t.render_dicts(messages, add_generation_prompt, tools, **self.extra)
            if text == plain:
                if mode != "guarded":
                    pos[GUARDS] = []
                    pos[UNGUARDED] = []
                return text, pos, every
        raise MaskError(
            "the template renders this conversation differently once contents are marked"
        )

    def render_many(self, items: list[tuple[list[dict], Any]]) -> list:
        """`render` for many conversations: per item (text, positions, every) or the exception.

        forge's own templates render a whole batch of conversations in one call (a wrapper
        that calls the template as a macro per conversation), which saves most of Jinja's
        per-render cost; rows that need a check render one by one."""
        out: list = [None] * len(items)
        batch: list[int] = []
        for k, (msgs, tools) in enumerate(items):
            if (
                self.batched is not None
                and self.skeletons is None
                and len(msgs) <= MAX_MESSAGES
                and not has_marker_chars(msgs)
                and not self.needs_check(msgs, tools)
            ):
                batch.append(k)
            else:
                out[k] = self._one(msgs, tools)
        if batch:
            marked = [(mark(items[k][0], "guarded", self.identity), items[k][1]) for k in batch]
            try:
                ctx = self.template.context(False, None, self.extra)
                del ctx["tools"]
                pieces = self.batched.render(batch=marked, **ctx).split(SEP)
            except Exception:
                pieces = None  # some row fails: render one by one to attribute the error
            if pieces is None or len(pieces) != len(batch) + 1:
                for k in batch:
                    out[k] = self._one(*items[k])
            else:
                for k, piece in zip(batch, pieces, strict=False):
                    out[k] = parse(piece)
        return out

    def _one(self, msgs: list[dict], tools: Any):
        try:
            return self.render(msgs, tools=tools)
        except Exception as e:  # the template's own refusal, reported per row
            return e

    @cached_property
    def skeletons(self) -> Skeletons | None:
        """For a template proven blind: its renders by conversation shape (forge.chat.blind),
        which take the place of a Jinja render per row."""
        if not self.blind:
            return None
        t = self.template
        key = tuple(sorted((k, repr(v)) for k, v in self.extra.items()))
        kept = t.__dict__.setdefault("_skeletons", {})  # for later finders, as the proof
        if key not in kept:
            written = [t.source_text, *map(str, t.special_tokens.values())]
            written += map(str, self.extra.values())
            kept[key] = Skeletons(
                lambda msgs: t.render_dicts(msgs, False, None, **self.extra), "".join(written)
            )
        return kept[key]

    @cached_property
    def batched(self):
        if self.template.source != "builtin":
            return None
        return compile_template(
            "{%- macro one(messages, tools) -%}" + self.template.source_text + "{%- endmacro -%}"
            "{%- for item in batch -%}{{ one(item[0], item[1]) }}" + SEP + "{%- endfor -%}",
            trusted=True,
        )

    def spans(
        self,
        messages: list[dict],
        text: str,
        pos: dict[int, list[int]],
        every: list[int],
        trainable: list[int],
    ) -> list[MessageSpan]:
        """Character spans of the trainable messages (indexes into `messages`) in `text`."""
        out: list[MessageSpan] = []
        header = self.header
        guards = set(pos.get(GUARDS, ()))
        unguarded = UNGUARDED in pos
        cursor = 0
        n = len(text)
        for i in trainable:
            m = messages[i]
            slot = pos.get(i)
            o, c = slot if slot is not None else (-1, -1)
            if o == -2 or c == -2:
                raise MaskError(f"message {i} appears more than once in the rendered text")
            assistant = m.get("role") == "assistant"
            content = m.get("content")
            lead = trail = ""
            if isinstance(content, str) and content:
                lead, _, trail = split_ws(content)
            if c >= 0:
                # whitespace the template kept around the content (its guard survived) is part of it
                end = (
                    c + len(trail)
                    if trail
                    and ((c + len(trail)) in guards or (unguarded and text.startswith(trail, c)))
                    else c
                )
                if o >= 0:
                    kept = (o - len(lead)) in guards or (unguarded and text.endswith(lead, 0, o))
                    start = o - len(lead) if lead and kept else o
                else:
                    start = -1
                anchor = o if o >= 0 else c
                # neighbouring markers bound the search: every marker before `anchor` or after
                # `c` belongs to another message
                k = bisect_left(every, anchor)
                lo = every[k - 1] if k > 0 else 0
                k = bisect_right(every, c)
                hi = every[k] if k < len(every) else n
                if assistant:
                    h = text.rfind(header, max(lo, cursor), anchor) if header else -1
                    if h >= 0:
                        start = h + len(header)
                    elif start < 0:
                        start = end  # the content's start was cut away and there is no header
                    end = self._close(text, end, hi)
            elif assistant:
                # nothing of this message carries a marker (empty content, a bare tool call):
                # find its turn between its neighbours' markers, after the reply header or,
                # for templates that write a bare tool call without one, at the call's opener
                lo = max(cursor, _neighbour_end(pos, i))
                hi = _neighbour_start(pos, i, len(messages), n)
                h = text.find(header, lo, hi) if header else -1
                starts = [(h, h + len(header))] if h >= 0 else []
                if m.get("tool_calls"):
                    starts += [
                        (k, k) for k in (text.find(o, lo, hi) for o in TOOL_CALL_OPENERS) if k >= 0
                    ]
                if not starts:
                    continue
                start = min(starts)[1]
                end = self._close(text, start, hi)
                if end == start:
                    continue
            else:
                continue
            if end > start:
                out.append(MessageSpan(i, start, end))
                cursor = end
        return out

    def _close(self, text: str, end: int, hi: int) -> int:
        """Extend an assistant span over the first end-of-turn string after its content."""
        best = (hi, 0)
        for s in self.stops:
            k = text.find(s, end, hi)
            if k >= 0 and (k, -len(s)) < best:
                best = (k, -len(s))
        return best[0] - best[1] if best[1] else end


def _neighbour_end(pos: dict[int, list[int]], i: int) -> int:
    for j in range(i - 1, -1, -1):
        slot = pos.get(j)
        if slot and max(slot) >= 0:
            return max(slot)
    return 0


def _neighbour_start(pos: dict[int, list[int]], i: int, count: int, n: int) -> int:
    for j in range(i + 1, count):
        slot = pos.get(j)
        if slot:
            found = [p for p in slot if p >= 0]
            if found:
                return min(found)
    return n
