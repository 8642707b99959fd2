"""Markdown -> front matter + heading sections made of top-level blocks, with exact positions.

Blocks keep character offsets into the (newline-normalized) file text, never a rendering of
it, so a chunk built from them is a verbatim slice of the file: its line numbers are exact and
a reader can open the file at them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

import yaml
from markdown_it import MarkdownIt

# CommonMark plus GitHub tables; one parser reused (building it costs more than a small file).
# Only the block structure is needed: inline parsing (emphasis, links) is a third of the cost.
_MD = MarkdownIt("commonmark").enable("table").disable(["inline", "text_join"])

_FRONT_OPEN = re.compile(r"---[ \t]*\n")
_FRONT_CLOSE = re.compile(r"^(---|\.\.\.)[ \t]*$", re.MULTILINE)
# Code and emphasis marks; an underscore only at a word edge (`should_panic` keeps its own).
_INLINE_MARKS = re.compile(r"`+|\*+|(?<!\w)_+|_+(?!\w)")


@dataclass(slots=True)
class Block:
    kind: str  # paragraph, bullet_list, fence, table, blockquote, heading, ...
    start: int  # character offset into the normalized text
    end: int  # exclusive


@dataclass(slots=True)
class Section:
    heading: tuple[str, ...]  # titles from the top level down to this section's own
    blocks: list[Block] = field(default_factory=list)  # the heading line first, when there is one


@dataclass(slots=True)
class ParsedDoc:
    text: str  # newline-normalized file text; every offset points into it
    meta: dict[str, Any]  # YAML front matter ({} when absent or unreadable)
    sections: list[Section]
    line_starts: list[int]  # character offset of each line's first character
    warnings: list[str] = field(default_factory=list)

    def line_of(self, offset: int) -> int:
        """1-based line number of the character at ``offset``."""
        return bisect_right(self.line_starts, offset)


def normalize_newlines(text: str) -> str:
    """What markdown-it does to line ends, done first so offsets and line numbers agree."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def line_starts(text: str) -> list[int]:
    starts = [0]
    pos = text.find("\n")
    while pos != -1:
        starts.append(pos + 1)
        pos = text.find("\n", pos + 1)
    return starts


def _front_matter(text: str, where: str) -> tuple[dict[str, Any], int, list[str]]:
    """(metadata, number of characters it spans, warnings). Only a block at the very top counts."""
    if not _FRONT_OPEN.match(text):
        return {}, 0, []
    close = _FRONT_CLOSE.search(text, text.index("\n") + 1)
    if close is None:
        return {}, 0, []  # a lone `---` is a thematic break, not front matter
    end = close.end() + 1 if close.end() < len(text) else close.end()
    body = text[text.index("\n") + 1 : close.start()]
    try:
        meta = yaml.safe_load(body)
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", 0) + 2
        return {}, end, [f"{where}:{line}: front matter is not valid YAML; indexed without it"]
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        return {}, end, [f"{where}:2: front matter is not a mapping; indexed without it"]
    return {str(k): v for k, v in meta.items()}, end, []


def _title(inline: str) -> str:
    """A heading's text without emphasis/code marks: `What Is *Ownership*?` -> What Is Ownership?"""
    return " ".join(_INLINE_MARKS.sub("", inline).split())


def parse(raw: str, where: str = "<text>") -> ParsedDoc:
    """Split markdown into sections at every top-level heading.

    A section's heading path holds the titles of the enclosing headings by level
    (`# Ch 4` > `## Ownership` > `### Moves`). Content before the first heading forms a section
    with an empty path.
    """
    text = normalize_newlines(raw)
    starts = line_starts(text)
    meta, fm_end, warnings = _front_matter(text, where)
    # Blank out the front matter instead of cutting it: markdown-it's line map stays file-relative.
    fm_lines = text.count("\n", 0, fm_end)
    tokens = _MD.parse("\n" * fm_lines + text[fm_end:])

    def span(line0: int, line1: int) -> tuple[int, int]:
        a = starts[line0]
        b = starts[line1] - 1 if line1 < len(starts) else len(text)
        return a, max(a, b)

    sections = [Section(heading=())]
    stack: list[tuple[int, str]] = []  # (level, title) of the open headings
    seen = fm_lines  # first line not yet covered by a block

    def gap(upto: int) -> None:
        """Lines no token covers (link reference definitions) still belong to the text."""
        if upto > seen:
            a, b = span(seen, upto)
            if text[a:b].strip():
                sections[-1].blocks.append(Block("reference", a, b))

    for i, tok in enumerate(tokens):
        if tok.level != 0 or tok.map is None or tok.nesting == -1:
            continue
        gap(tok.map[0])
        seen = max(seen, tok.map[1])
        a, b = span(tok.map[0], tok.map[1])
        if tok.type == "heading_open":
            level = int(tok.tag[1:])
            title = _title(tokens[i + 1].content) if i + 1 < len(tokens) else ""
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title or "(untitled)"))
            sections.append(Section(heading=tuple(t for _, t in stack)))
            sections[-1].blocks.append(Block("heading", a, b))
        elif text[a:b].strip():
            sections[-1].blocks.append(Block(tok.type.removesuffix("_open"), a, b))
    gap(len(starts))
    kept = [s for s in sections if s.blocks]
    return ParsedDoc(text=text, meta=meta, sections=kept, line_starts=starts, warnings=warnings)
