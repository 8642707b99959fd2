"""Stream the elements of a top-level JSON array without loading the file whole.

A small scanner finds where each top-level element starts and ends (it tracks only strings,
escapes and bracket depth), and orjson parses each element on its own. Memory is bounded by
the largest element (and elements over ``max_bytes`` are skipped and reported, not held).
A structural error (an unclosed string, say) can make the rest of the array one bad element:
it is rejected as such, and everything before it is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TextIO

import orjson

_OUTSIDE = re.compile(r'[\[\]{}",]')
_INSIDE = re.compile(r'["\\]')


def iter_array(
    f: TextIO, max_chars: int, chunk: int = 1 << 20, first_line: int = 1
) -> Iterator[tuple[int, object | str]]:
    """Yield ``(line, obj)`` per element of a JSON array read from text stream ``f``, or
    ``(line, "reason: detail")`` (a str starting with a reason code) for a bad element.

    ``f`` must be positioned just after the opening ``[``.
    """
    buf = ""
    pos = 0  # scan position in buf
    start = -1  # start of the current element in buf, -1 between elements
    start_line = first_line
    cnt_pos, cnt_line = 0, first_line  # newlines are counted in buf up to cnt_pos
    depth = 0
    in_str = False
    oversize = False
    eof = False
    while True:
        if pos >= len(buf):
            if eof:
                break
            data = f.read(chunk)
            if not data:
                eof = True
                if start >= 0 and not oversize and buf[start:].strip():
                    yield start_line, "bad_json: unterminated array"
                elif oversize:
                    yield start_line, f"record_too_large: over {max_chars} characters"
                break
            keep = start if start >= 0 else len(buf)
            if oversize:
                keep = len(buf)
            cnt_line += buf.count("\n", cnt_pos, keep)
            cnt_pos = 0
            buf = buf[keep:] + data
            pos -= keep
            if start >= 0:
                start = 0
            continue
        if in_str:
            m = _INSIDE.search(buf, pos)
            if m is None:
                pos = len(buf)
                continue
            if m.group() == "\\":
                if m.end() >= len(buf) and not eof:
                    # the escaped character is in the next chunk: read on before deciding
                    pos = m.start()
                    more = f.read(chunk)
                    if more:
                        buf += more
                        continue
                    eof = True
                pos = m.end() + 1
            else:
                in_str = False
                pos = m.end()
            continue
        if start < 0:
            # between elements: skip whitespace and commas, stop at the closing bracket
            while pos < len(buf) and buf[pos] in " \t\r\n,":
                pos += 1
            if pos >= len(buf):
                continue
            if buf[pos] == "]":
                return
            start = pos
            start_line = cnt_line + buf.count("\n", cnt_pos, pos)
            cnt_pos, cnt_line = pos, start_line
            oversize = False
        m = _OUTSIDE.search(buf, pos)
        if m is None:
            pos = len(buf)
        else:
            c = m.group()
            pos = m.end()
            if c == '"':
                in_str = True
            elif c in "[{":
                depth += 1
            elif c in "]}" and depth > 0:
                depth -= 1
            elif depth == 0 and c in ",]":
                if oversize:
                    yield start_line, f"record_too_large: over {max_chars} characters"
                else:
                    text = buf[start : m.start()]
                    try:
                        yield start_line, orjson.loads(text)
                    except orjson.JSONDecodeError as e:
                        yield start_line, f"bad_json: {e}"
                start = -1
                oversize = False
                if c == "]":
                    return
                continue
        if start >= 0 and not oversize and pos - start > max_chars:
            oversize = True
        if oversize and start >= 0 and pos > chunk:
            # forget the oversized element's text as we scan past it
            cnt_line += buf.count("\n", cnt_pos, pos)
            cnt_pos = 0
            buf = buf[pos:]
            pos = 0
            start = 0
