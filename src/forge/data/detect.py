"""Which chat or text format a source is in, decided from a sample of rows (not the first one).

Each row is matched against key signatures; the format most rows match wins when it covers at
least ``MIN_SHARE`` of the sample and no other format comes close. Otherwise the user is asked
for a ``fields:`` mapping instead of a guess.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from forge.errors import ForgeError

FORMATS = (
    "alpaca",
    "sharegpt",
    "openai",
    "prompt_completion",
    "query_response",
    "pair",
    "prompts",
    "oasst",
    "text",
)
MIN_SHARE = 0.9
"""The winning format must match this share of the sampled rows."""
CLOSE = 0.5
"""A runner-up matching at least this share (besides the winner) makes the sample ambiguous."""

_SHAREGPT_ROLES = {"human", "gpt", "user", "assistant", "system", "function_call", "observation"}
_SHAREGPT_ROLES |= {"tool", "function", "chatgpt", "bard", "model"}


@dataclass(frozen=True)
class Detection:
    format: str
    confidence: float
    """Share of the sampled rows that match the format (0..1)."""
    reasons: list[str] = field(default_factory=list)
    rows: int = 0


def apply_fields(obj: Any, fields: Mapping[str, str]) -> Any:
    """Rename the user's columns to forge names (``fields: {prompt: question}``)."""
    if not fields or not isinstance(obj, dict):
        return obj
    out = dict(obj)
    for forge_name, column in fields.items():
        if column in out:
            out[forge_name] = out.pop(column)
    return out


def row_formats(obj: Any) -> list[str]:
    """Every format whose signature this row has."""
    if not isinstance(obj, dict):
        return []
    keys = obj.keys()
    found = []
    if "instruction" in keys and "output" in keys:
        found.append("alpaca")
    for k in ("conversations", "messages"):
        msgs = obj.get(k)
        if isinstance(msgs, list) and msgs and isinstance(msgs[0], dict):
            first = msgs[0]
            if "from" in first and "value" in first:
                if str(first.get("from")).lower() in _SHAREGPT_ROLES:
                    found.append("sharegpt")
            elif "role" in first and "content" in first:
                found.append("openai")
            break
    if "prompt" in keys and "completion" in keys:
        found.append("prompt_completion")
    if "query" in keys and "response" in keys:
        found.append("query_response")
    if "prompt" in keys and "response" in keys:
        found.append("pair")
    if isinstance(obj.get("turns"), list) and not found:
        found.append("prompts")
    if ("message_tree_id" in keys and isinstance(obj.get("prompt"), dict)) or (
        "message_id" in keys and "role" in keys and "text" in keys
    ):
        found.append("oasst")
    if not found and "text" in keys:
        found.append("text")
    return found


def detect_format(sample: Iterable[Any]) -> Detection:
    """The format of a sample of parsed rows; a ForgeError when it is ambiguous or unknown."""
    counts: Counter[str] = Counter()
    keys: Counter[str] = Counter()
    n = 0
    for obj in sample:
        if not isinstance(obj, dict):
            continue  # rejected later as not_an_object; it says nothing about the format
        n += 1
        for fmt in row_formats(obj):
            counts[fmt] += 1
        keys.update(obj.keys())
    if n == 0:
        raise ForgeError(
            "no JSON objects among the sampled rows to detect the format from",
            "check the source path, or set `format:` on the source",
        )
    ranked = counts.most_common()
    cols = ", ".join(k for k, _ in keys.most_common(12)) or "none"
    if not ranked:
        raise ForgeError(
            f"unknown format: no known layout matches the {n} sampled rows (columns: {cols})",
            "map your columns in forge.yaml, e.g. `fields: {prompt: question, response: answer, "
            "system: sys}` or `fields: {text: body}`, or set `format:`",
        )
    best, hits = ranked[0]
    share = hits / n
    reasons = [f"{fmt}: {c}/{n} rows" for fmt, c in ranked]
    rivals = [f for f, c in ranked[1:] if c / n >= CLOSE and not _compatible(best, f)]
    if share < MIN_SHARE or rivals:
        what = f"{best} or {rivals[0]}" if rivals else f"{best} for only {hits} of {n} rows"
        raise ForgeError(
            f"ambiguous format: {what} (columns: {cols})",
            "say which columns to use in forge.yaml, e.g. `fields: {prompt: question, response: "
            "answer, system: sys}`, or set `format:` on the source",
        )
    return Detection(best, round(share, 4), reasons, n)


def _compatible(a: str, b: str) -> bool:
    """Signatures that overlap without ambiguity (a row with prompt/response/completion)."""
    return {a, b} <= {"prompt_completion", "pair", "query_response"}
