"""The chat record every format on disk is normalized into before anything model-specific.

Plain dataclasses with slots: they travel through hot loops by the million.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLES = ("system", "user", "assistant", "tool")


@dataclass(slots=True)
class Message:
    role: str
    content: str
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    train: bool | None = None
    """Per-message loss override: True trains on it, False never does, None follows the policy."""
    reasoning: str | None = None
    """Reasoning text kept apart from the answer (templates that render `<think>`)."""

    def to_dict(self) -> dict[str, Any]:
        """The message as a chat-template input (only the keys that are set).

        A tool-call turn without text has content None, as chat APIs write it: templates such as
        DeepSeek's test `content is none` to render the calls, and would drop them on "".
        """
        content = None if self.tool_calls and not self.content else self.content
        d: dict[str, Any] = {"role": self.role, "content": content}
        if self.name is not None:
            d["name"] = self.name
        if self.tool_calls is not None:
            d["tool_calls"] = self.tool_calls
        if self.tool_call_id is not None:
            d["tool_call_id"] = self.tool_call_id
        if self.reasoning is not None:
            d["reasoning_content"] = self.reasoning
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Message:
        return _message(d, cls)


@dataclass(slots=True)
class Conversation:
    messages: list[Message]
    tools: list[dict[str, Any]] | None = None
    id: str | None = None
    source: tuple[str, int] | None = None
    """(file, line) the record came from."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Any other columns: labels, timestamps, categories."""

    def to_dicts(self) -> list[dict[str, Any]]:
        return [m.to_dict() for m in self.messages]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "messages": [
                m.to_dict() | ({"train": m.train} if m.train is not None else {})
                for m in self.messages
            ]
        }
        if self.tools is not None:
            d["tools"] = self.tools
        if self.id is not None:
            d["id"] = self.id
        if self.source is not None:
            d["source"] = list(self.source)
        if self.meta:
            d["meta"] = self.meta
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Conversation:
        src = d.get("source")
        return cls(
            [_message(m) for m in d["messages"]],
            d.get("tools"),
            d.get("id"),
            (src[0], int(src[1])) if src else None,
            dict(d.get("meta") or {}),
        )


def _message(d: dict[str, Any], new: Any = Message) -> Message:
    """Message.from_dict, with positional arguments (once per message of every row). content
    is always a str here (None reads as ""); to_dict gives None back where it counts."""
    get = d.get
    return new(
        d["role"],
        get("content") or "",
        get("name"),
        get("tool_calls"),
        get("tool_call_id"),
        get("train"),
        get("reasoning_content", get("reasoning")),
    )
