"""Clean text and sanitize conversations (pure functions; a bad record raises ``Reject``).

Cleaning: mojibake repair (ftfy, only on non-ASCII text, where mojibake can be), Unicode NFC,
control characters out (newline and tab kept), whitespace tidied, optional removal of
generation artifacts. Sanitizing: known roles only, the system turn first, a user turn before
the first answer, tool results only after a tool call, no empty messages.
"""

from __future__ import annotations

import re
import unicodedata

from forge.chat.conversation import ROLES, Conversation
from forge.config.data import CleaningConfig
from forge.data.normalize import Reject
from forge.data.records import TextDoc

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The ASCII ones of _CONTROL, as bytes: deleting them from an ASCII text's bytes is a cheap
# test that the (much slower) regex has nothing to remove
_CONTROL_ASCII = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
# whether _BLANKS has anything to squeeze: three line breaks with only spaces and tabs between
# (a search stops at the first; the substitution would build a new string for nothing)
_BLANKS_HINT = re.compile(r"\n[ \t]*\n[ \t]*\n")
_THINK = re.compile(r"<think>.*?</think>\s*", re.S)
_TOOL_CALL = re.compile(r"<tool_call>.*?</tool_call>\s*", re.S)

# UTF-8 read as Latin-1 / Windows-1252 always leaves a lead byte (Â..ô) followed by a
# continuation byte (U+0080..U+00BF, or its Windows-1252 glyph): a cheap gate in front of ftfy,
# which costs hundreds of microseconds per text even when there is nothing to fix
_MOJIBAKE = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e"
    "\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030"
    "\u2039\u203a\u20ac\u2122]"
)
_FTFY_CONFIG = None


def _ftfy(text: str) -> str:
    global _FTFY_CONFIG
    import ftfy

    if _FTFY_CONFIG is None:
        # only encoding repairs: quotes, ligatures and widths are the author's choice
        _FTFY_CONFIG = ftfy.TextFixerConfig(
            unescape_html=False,
            uncurl_quotes=False,
            fix_latin_ligatures=False,
            fix_character_width=False,
            fix_line_breaks=False,
            normalization=None,
            explain=False,
        )
    return ftfy.fix_text(text, _FTFY_CONFIG)


class Cleaner:
    """Text cleaning with counters of what it changed (for the report)."""

    def __init__(self, cfg: CleaningConfig):
        self.cfg = cfg
        self.repaired = 0
        """Texts whose encoding (mojibake) ftfy repaired."""
        self.artifacts = 0

    def text(self, s: str) -> str:
        cfg = self.cfg
        ascii_ = s.isascii()  # stays true: no step below adds a non-ASCII character
        if not ascii_:
            if cfg.fix_mojibake and _MOJIBAKE.search(s):
                fixed = _ftfy(s)
                if fixed != s:
                    self.repaired += 1
                    s = fixed
            if cfg.nfc:
                s = unicodedata.normalize("NFC", s)
        if cfg.strip_think and "<think>" in s:
            s, n = _THINK.subn("", s)
            self.artifacts += n
        if cfg.strip_tool_call and "<tool_call>" in s:
            s, n = _TOOL_CALL.subn("", s)
            self.artifacts += n
        if cfg.whitespace:
            if "\r" in s:
                s = s.replace("\r\n", "\n").replace("\r", "\n")
            s = s.strip()
            if _BLANKS_HINT.search(s):
                s = _BLANKS.sub("\n\n", s)
        if cfg.control_chars:
            if ascii_:
                b = s.encode("ascii")
                if len(b.translate(None, _CONTROL_ASCII)) != len(b):
                    s = _CONTROL.sub("", s)
            else:
                s = _CONTROL.sub("", s)
        return s

    def conversation(self, conv: Conversation) -> Conversation:
        text = self.text
        for m in conv.messages:
            m.content = text(m.content)
            if m.reasoning:
                m.reasoning = text(m.reasoning)
        return conv

    def doc(self, doc: TextDoc) -> TextDoc:
        doc.text = self.text(doc.text)
        return doc


def sanitize(conv: Conversation) -> Conversation:
    """Check roles and order; drop trailing user turns of an answered conversation."""
    msgs = conv.messages
    if not msgs:
        raise Reject("empty_conversation", "no messages")
    n = len(msgs)
    if not n & 1:
        # the usual shape, user and assistant turns in turn with text in each: every check
        # below passes and nothing is dropped (`isspace` is False for "", True for what
        # `strip` would empty)
        for i in range(0, n, 2):
            u, a = msgs[i], msgs[i + 1]
            if (
                u.role != "user"
                or a.role != "assistant"
                or not u.content
                or u.content.isspace()
                or not a.content
                or a.content.isspace()
            ):
                break
        else:
            return conv
    has_answer = any(m.role == "assistant" for m in msgs)
    for i, m in enumerate(msgs):
        if m.role not in ROLES:
            raise Reject("unknown_role", f"message {i} has role {m.role!r}")
        if not m.content.strip() and not m.tool_calls:
            raise Reject("empty_message", f"message {i} ({m.role}) is empty")
        if m.role == "system" and i != 0:
            raise Reject("bad_role_order", f"system message at position {i}, not first")
    if has_answer:
        while msgs and msgs[-1].role == "user":
            msgs.pop()
    prev = "system"
    for i, m in enumerate(msgs):
        r = m.role
        if i == 0 and r == "system":
            continue
        ok = (
            (r == "user" and (prev in ("system", "assistant", "tool") or not has_answer))
            or (r == "assistant" and prev in ("user", "tool"))
            or (r == "tool" and (prev == "tool" or (prev == "assistant" and _called(msgs, i))))
        )
        if not ok:
            raise Reject("bad_role_order", f"message {i} ({r}) follows {prev}")
        prev = r
    if not any(m.role == "user" for m in msgs):
        raise Reject("no_user_turn", "the conversation has no user message")
    return conv


def _called(msgs: list, i: int) -> bool:
    return bool(msgs[i - 1].tool_calls)


def total_chars(rec: Conversation | TextDoc) -> int:
    if isinstance(rec, TextDoc):
        return len(rec.text)
    return sum([len(m.content) for m in rec.messages])
