"""Heading sections -> chunks that fit the embedder's input, counted in its own tokens.

A chunk is a verbatim span of the file (so its line range is exact) plus the heading path.
What is embedded is ``embed_text``: the chunk's context, a blank line, then the span. The
context is the heading path, except for a section's first chunk, which already begins with
the section's own heading line: there it is the path of the enclosing sections only, so no
title is said twice (a repeated title weighs a short section's vector towards its title
alone). Every chunk's ``embed_text`` is checked with the embedder's tokenizer (special tokens
included), so nothing is ever truncated by the model.

Packing, per section: whole blocks (paragraphs, lists, tables, code fences) are added while
they fit; a block that cannot fit alone is cut at line ends, and a line that cannot fit alone
at spaces (then characters). When a section needs several chunks, the next one starts with
the previous chunk's last block if that block is small (the overlap).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import xxhash

from forge.index.parse import ParsedDoc, Section, parse

TokenCounter = Callable[[list[str]], list[int]]
HEADING_SEP = " > "
# The chunking rule's version: an index built by another rule re-chunks every file (store.py).
CHUNKING = "2"


@dataclass(slots=True)
class Chunk:
    path: str
    heading: str  # "Ch 4 > Ownership > Moves" ("" before the first heading)
    start_line: int  # 1-based, inclusive
    end_line: int  # 1-based, inclusive
    text: str  # verbatim from the file
    tokens: int  # len(tokenizer(embed_text)) with special tokens
    context: str  # what precedes the text in embed_text: the heading path, or its parents

    @property
    def embed_text(self) -> str:
        return embed_text(self.context, self.text)

    @property
    def hash(self) -> str:
        return chunk_hash(self.embed_text)


def embed_text(context: str, text: str) -> str:
    return f"{context}\n\n{text}" if context else text


def chunk_hash(text: str) -> str:
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8", "surrogatepass"))


class _Span(NamedTuple):
    heading: str
    context: str
    start: int  # character offsets into the document text
    end: int


@dataclass(slots=True)
class _Unit:
    start: int  # character offsets into the document text
    end: int
    tokens: int  # content tokens, without the special tokens


class Chunker:
    """Chunks documents for one tokenizer and limit. ``count`` includes special tokens."""

    def __init__(self, count: TokenCounter, max_tokens: int, overlap_tokens: int = 48):
        self.count = count
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens
        self.specials = count([""])[0]  # [CLS] + [SEP] for BERT-like models
        if max_tokens - self.specials < 16:
            raise ValueError(f"max_tokens={max_tokens} leaves no room for text")

    def _content(self, texts: Sequence[str]) -> list[int]:
        return [n - self.specials for n in self.count(list(texts))] if texts else []

    def chunk(self, raw: str, path: str) -> tuple[ParsedDoc, list[Chunk]]:
        doc = parse(raw, path)
        sections = [s for s in doc.sections if any(b.kind != "heading" for b in s.blocks)]
        if not sections:  # a file of headings only still deserves to be found
            sections = doc.sections
        # One tokenizer call for every heading path and block of the file, one to verify.
        headings = [HEADING_SEP.join(s.heading) for s in sections]
        texts = headings + [doc.text[b.start : b.end] for s in sections for b in s.blocks]
        counts = iter(self._content(texts))
        prefixes = [next(counts) for _ in headings]
        spans: list[_Span] = []
        for section, heading, prefix in zip(sections, headings, prefixes, strict=True):
            block_counts = [next(counts) for _ in section.blocks]
            spans.extend(self._section(doc, section, heading, prefix, block_counts))
        return doc, self._emit(doc, path, spans)

    def _section(
        self, doc: ParsedDoc, section: Section, heading: str, prefix: int, counts: list[int]
    ) -> list[_Span]:
        # The heading path is prepended to every chunk; +2 tokens of slack for the joins.
        # (A first chunk's context is shorter, so the same budget holds for it.)
        budget = self.max_tokens - self.specials - (prefix + 2 if heading else 0)
        parent = HEADING_SEP.join(section.heading[:-1])
        if budget < 16:  # an absurdly long heading path: keep only the section's own title
            heading, parent = section.heading[-1][:200], ""
            budget = self.max_tokens - self.specials - self._content([heading])[0] - 2
        text = doc.text
        units: list[_Unit] = []
        for b, n in zip(section.blocks, counts, strict=True):
            if n <= budget:
                units.append(_Unit(b.start, b.end, n))
            else:
                units.extend(self._split_lines(text, b.start, b.end, budget))
        blocks = section.blocks
        titled = blocks[0].start if blocks and blocks[0].kind == "heading" else -1
        return [
            _Span(heading, parent if a == titled else heading, a, b)
            for a, b in self._pack(units, budget)
        ]

    def _pack(self, units: list[_Unit], budget: int) -> list[tuple[int, int]]:
        """Greedy: consecutive units while their tokens fit; a small last unit overlaps."""
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(units):
            j, total = i, 0
            while j < len(units) and total + units[j].tokens <= budget:
                total += units[j].tokens
                j += 1
            j = max(j, i + 1)  # a unit always fits alone (split to the budget above)
            spans.append((units[i].start, units[j - 1].end))
            if j >= len(units):
                break
            last = units[j - 1]
            overlap = (
                j - 1 > i
                and last.tokens <= self.overlap_tokens
                and last.tokens + units[j].tokens <= budget
            )
            i = j - 1 if overlap else j
        return spans

    def _fit(self, text: str, pieces: list[tuple[int, int]], budget: int, finer) -> list[_Unit]:
        """Pieces as units; one over the budget is cut again by ``finer``."""
        units: list[_Unit] = []
        counts = self._content([text[a:b] for a, b in pieces])
        for (a, b), n in zip(pieces, counts, strict=True):
            if n <= budget:
                units.append(_Unit(a, b, n))
            else:
                units.extend(finer(text, a, b, budget))
        return units

    def _split_lines(self, text: str, start: int, end: int, budget: int) -> list[_Unit]:
        """An oversized block as units of whole lines (grouped later), long lines cut at spaces."""
        lines = [
            (m.start() + start, m.end() + start)
            for m in re.finditer(r"[^\n]*\S[^\n]*", text[start:end])
        ]
        return self._fit(text, lines, budget, self._split_words)

    def _split_words(self, text: str, start: int, end: int, budget: int) -> list[_Unit]:
        """One line too long for the model: cut between words, a giant word between characters."""
        words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
        return self._fit(text, words, budget, self._split_chars)

    def _split_chars(self, text: str, start: int, end: int, budget: int) -> list[_Unit]:
        units: list[_Unit] = []
        while start < end:
            lo, hi = start + 1, end  # the longest prefix that fits, by bisection
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if self._content([text[start:mid]])[0] <= budget:
                    lo = mid
                else:
                    hi = mid - 1
            units.append(_Unit(start, lo, self._content([text[start:lo]])[0]))
            start = lo
        return units

    def _emit(self, doc: ParsedDoc, path: str, spans: list[_Span]) -> list[Chunk]:
        """Spans as chunks, verified with the real tokenizer; a span still too long is halved.

        Additive counts are exact for BERT wordpieces (whitespace is never a token), but a
        tokenizer whose tokens cross block boundaries could disagree: the check makes that safe.
        """
        text = doc.text
        trimmed = []
        for heading, context, start, end in spans:
            while end > start and text[end - 1].isspace():
                end -= 1
            while start < end and text[start].isspace():
                start += 1
            if start < end:
                trimmed.append(_Span(heading, context, start, end))
        counts = self.count([embed_text(s.context, text[s.start : s.end]) for s in trimmed])
        out: list[Chunk] = []
        for (heading, context, start, end), n in zip(trimmed, counts, strict=True):
            if n <= self.max_tokens:
                line0, line1 = doc.line_of(start), doc.line_of(end - 1)
                out.append(Chunk(path, heading, line0, line1, text[start:end], n, context))
                continue
            mid = text.rfind("\n", start, (start + end) // 2 + 1)
            if mid <= start:
                mid = text.rfind(" ", start, (start + end) // 2 + 1)
            if mid <= start:
                mid = (start + end) // 2
            # Only the first half still begins with the section's heading line.
            halves = [_Span(heading, context, start, mid), _Span(heading, heading, mid, end)]
            out.extend(self._emit(doc, path, halves))
        return out
