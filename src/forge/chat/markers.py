"""Content markers: how forge sees where each message's text lands in a rendered template.

Each message's content is wrapped in private-use characters carrying its index (see
forge.chat.spans for how the positions become trainable spans). `mark` wraps, `parse` strips
the markers from a render and reports where they were.
"""

from __future__ import annotations

import re

OPEN = "\ue000"
CLOSE = "\ue001"
WS_OPEN = "\u2028"
WS_CLOSE = "\u2029"
# one private-use character per message index, in the Basic Multilingual Plane so that marked
# text stays in CPython's 2-byte string form (astral characters make every string op slower)
_ID0 = 0xE100
MAX_MESSAGES = 0xF8FF - _ID0
_MARKER_CHARS = re.compile("[\ue000-\ue004\u2028\u2029]")
SEP = "\ue004"  # between conversations rendered in one batch
# keys of parse()'s position map besides message indexes
GUARDS = -1  # where whitespace guards survived
UNGUARDED = (
    -2
)  # present when the render was marked without guards (edge whitespace matched by text)


class MaskError(Exception):
    """The marked render differs from the plain one: spans cannot be trusted for this row."""


def split_ws(text: str) -> tuple[str, str, str]:
    """(leading whitespace, the rest, trailing whitespace); all leading when only whitespace."""
    if not (text and (text[0].isspace() or text[-1].isspace())):
        return "", text, ""
    core = text.strip()
    if not core:
        return text, "", ""
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    return lead, core, trail


MODES = ("guarded", "bare", "inside")


def mark(messages: list[dict], mode: str = "guarded", same_user_ids: bool = False) -> list[dict]:
    """Copies of the messages with every non-empty string content wrapped in markers.

    `guarded`: edge whitespace outside the index markers, behind guards (the default: exact);
    `bare`: edge whitespace outside, no guards (for templates stripping only some characters,
    e.g. `lstrip('\\n')`); `inside`: everything inside the markers. `same_user_ids` gives equal
    user messages the same markers, for templates that compare whole messages."""
    out = []
    for i, m in enumerate(messages):
        c = m.get("content")
        if isinstance(c, str) and c:
            j = i
            if same_user_ids and m.get("role") == "user":
                j = next(k for k, other in enumerate(messages) if other == m)
            tag = chr(_ID0 + j)
            if mode == "inside" or not (c[0].isspace() or c[-1].isspace()):
                body = OPEN + tag + c + CLOSE + tag  # the common case: no edge whitespace
            else:
                lead, core, trail = split_ws(c)
                body = OPEN + tag + core + CLOSE + tag
                if mode == "guarded":
                    body = (
                        (WS_OPEN + lead if lead else "")
                        + body
                        + (trail + WS_CLOSE if trail else "")
                    )
                else:
                    body = lead + body + trail
            m = {**m, "content": body}
        out.append(m)
    return out


def has_markers(text: str) -> bool:
    """Whether `text` holds a character `parse` would take for a marker."""
    return _MARKER_CHARS.search(text) is not None


def has_marker_chars(messages: list[dict]) -> bool:
    for m in messages:
        c = m.get("content")
        # every marker character is non-ASCII: an ASCII content (most) needs no search
        if isinstance(c, str) and not c.isascii() and _MARKER_CHARS.search(c):
            return True
    return False


def _marker_positions(rendered: str) -> list[int]:
    # str.find runs a fast search per marker kind; a regex scan is many times slower here
    found = []
    for ch in (OPEN, CLOSE, WS_OPEN, WS_CLOSE):
        i = rendered.find(ch)
        while i >= 0:
            found.append(i)
            i = rendered.find(ch, i + 1)
    found.sort()
    return found


def parse(rendered: str) -> tuple[str, dict[int, list[int]], list[int]]:
    """Strip the markers. Returns the text, {message index: [open, close]} positions in the
    text (-1 where missing, -2 where seen twice; key -1 holds where whitespace guards
    survived), and the sorted positions of every index marker."""
    pos: dict[int, list[int]] = {GUARDS: []}
    every: list[int] = []
    pieces = []
    removed = last = 0
    size = len(rendered)
    for a in _marker_positions(rendered):
        pieces.append(rendered[last:a])
        at = a - removed
        ch = rendered[a]
        if ch in (WS_OPEN, WS_CLOSE):
            pos[GUARDS].append(at)
            width = 1
        else:
            idx = ord(rendered[a + 1]) - _ID0 if a + 1 < size else -1
            if not 0 <= idx < MAX_MESSAGES:
                raise MaskError("the template cut a content marker apart")
            slot = pos.setdefault(idx, [-1, -1])
            k = 0 if ch == OPEN else 1
            slot[k] = at if slot[k] == -1 else -2
            every.append(at)
            width = 2
        removed += width
        last = a + width
    if not pieces:
        return rendered, pos, every
    pieces.append(rendered[last:])
    return "".join(pieces), pos, every
