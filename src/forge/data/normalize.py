"""Every format on disk becomes ``Conversation`` (chat) or ``TextDoc`` (pretraining text).

``normalize(obj, fmt, fields)`` is a pure function of one row. A row it cannot use raises
``Reject(reason, detail)``; the engine writes that to rejected.jsonl and goes on.
Columns a format does not consume are kept in ``meta`` (split keys, categories, timestamps).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from forge.chat.conversation import Conversation, Message
from forge.data.detect import apply_fields
from forge.data.records import TextDoc


class Reject(Exception):
    """A row that cannot be used: a reason code and a detail for rejected.jsonl."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


_SHAREGPT_ROLE = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "model": "assistant",
    "system": "system",
    "observation": "tool",
    "tool": "tool",
    "function": "tool",
    "function_call": "function_call",
}
_PAIR_KEYS = {
    "alpaca": ("instruction", "output"),
    "prompt_completion": ("prompt", "completion"),
    "query_response": ("query", "response"),
    "pair": ("prompt", "response"),
}
_CONSUMED = {"system", "history", "input", "tools", "id", "conversations", "messages"}


def _str(obj: Mapping[str, Any], key: str, required: bool = True) -> str:
    v = obj.get(key)
    if v is None:
        if required:
            raise Reject("missing_field", f"'{key}' is missing or null")
        return ""
    if not isinstance(v, str):
        raise Reject("wrong_type", f"'{key}' is {type(v).__name__}, expected a string")
    return v


def _meta(obj: Mapping[str, Any], used: set[str]) -> dict[str, Any]:
    if len(obj) == 1 and ("messages" in obj or "conversations" in obj):
        return {}  # a chat row with nothing else
    return {k: v for k, v in obj.items() if k not in used and k not in _CONSUMED}


def _row_id(obj: Mapping[str, Any]) -> str | None:
    v = obj.get("id")
    return None if v is None else str(v)


def _tools(obj: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    tools = obj.get("tools")
    if tools is None or tools == "" or tools == []:
        return None
    if isinstance(tools, str):
        try:
            tools = orjson.loads(tools)
        except orjson.JSONDecodeError as e:
            raise Reject("bad_tools", f"'tools' is not valid JSON: {e}") from None
    if isinstance(tools, dict):
        tools = [tools]
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        raise Reject("bad_tools", "'tools' must be a list of objects")
    return tools


def _pair(obj: Mapping[str, Any], fmt: str) -> Conversation:
    pkey, rkey = _PAIR_KEYS[fmt]
    prompt = _str(obj, pkey)
    if fmt == "alpaca":
        extra = _str(obj, "input", required=False)
        if extra.strip():
            prompt = f"{prompt}\n\n{extra}" if prompt.strip() else extra
    response = _str(obj, rkey)
    msgs: list[Message] = []
    system = _str(obj, "system", required=False)
    if system.strip():
        msgs.append(Message("system", system))
    history = obj.get("history") or []
    if not isinstance(history, list):
        raise Reject("wrong_type", "'history' must be a list of [prompt, response] pairs")
    for turn in history:
        if (
            not isinstance(turn, (list, tuple))
            or len(turn) != 2
            or not all(isinstance(t, str) for t in turn)
        ):
            raise Reject("wrong_type", "'history' must be a list of [prompt, response] pairs")
        msgs += [Message("user", turn[0]), Message("assistant", turn[1])]
    msgs += [Message("user", prompt), Message("assistant", response)]
    return Conversation(msgs, id=_row_id(obj), meta=_meta(obj, {pkey, rkey}))


def _sharegpt(obj: Mapping[str, Any]) -> Conversation:
    key = "conversations" if "conversations" in obj else "messages"
    turns = obj.get(key)
    if not isinstance(turns, list):
        raise Reject("wrong_type", f"'{key}' must be a list of messages")
    msgs: list[Message] = []
    system = _str(obj, "system", required=False)
    if system.strip():
        msgs.append(Message("system", system))
    for i, t in enumerate(turns):
        if not isinstance(t, dict):
            raise Reject("wrong_type", f"{key}[{i}] is {type(t).__name__}, expected an object")
        who = t.get("from")
        role = _SHAREGPT_ROLE.get(str(who).lower()) if isinstance(who, str) else None
        if role is None:
            raise Reject("unknown_role", f"{key}[{i}].from = {who!r}")
        value = t.get("value")
        if not isinstance(value, str):
            raise Reject("wrong_type", f"{key}[{i}].value is {type(value).__name__}")
        if role == "function_call":
            msgs.append(_function_call(value, i, key))
        else:
            msgs.append(Message(role, value))
    return Conversation(msgs, tools=_tools(obj), id=_row_id(obj), meta=_meta(obj, set()))


def _function_call(value: str, i: int, key: str) -> Message:
    """ShareGPT's function_call turn: a JSON {name, arguments} (or a list of them)."""
    try:
        call = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise Reject("bad_tool_call", f"{key}[{i}] function_call is not JSON") from None
    calls = call if isinstance(call, list) else [call]
    out = []
    for c in calls:
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            raise Reject("bad_tool_call", f"{key}[{i}] function_call has no name")
        out.append(
            {"type": "function", "function": {"name": c["name"], "arguments": c.get("arguments")}}
        )
    return Message("assistant", "", tool_calls=out)


def _openai(obj: Mapping[str, Any]) -> Conversation:
    key = "messages" if "messages" in obj else "conversations"
    turns = obj.get(key)
    if not isinstance(turns, list):
        raise Reject("wrong_type", f"'{key}' must be a list of messages")
    msgs: list[Message] = []
    for i, m in enumerate(turns):
        if type(m) is dict and len(m) == 2:
            content, role = m.get("content"), m.get("role")
            if type(content) is str and type(role) is str:
                # the usual {role, content}: what the checks and from_dict below make of it
                msgs.append(Message(role.lower(), content))
                continue
        if not isinstance(m, dict):
            raise Reject("wrong_type", f"{key}[{i}] is {type(m).__name__}, expected an object")
        content = m.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            texts = [p.get("text", "") for p in content if isinstance(p, dict)]
            content = "".join(t for t in texts if isinstance(t, str))
        if content is not None and not isinstance(content, str):
            raise Reject("wrong_type", f"{key}[{i}].content is {type(content).__name__}")
        role = m.get("role")
        if not isinstance(role, str):
            raise Reject("unknown_role", f"{key}[{i}].role = {role!r}")
        calls = m.get("tool_calls")
        if calls is not None and not isinstance(calls, list):
            raise Reject("bad_tool_call", f"{key}[{i}].tool_calls must be a list")
        msg = Message.from_dict({**m, "content": content or ""})
        msg.role = role.lower()
        msgs.append(msg)
    if len(obj) == 1:  # the messages alone: no tools, no id, no meta
        return Conversation(msgs)
    return Conversation(msgs, tools=_tools(obj), id=_row_id(obj), meta=_meta(obj, set()))


def _prompts(obj: Mapping[str, Any]) -> Conversation:
    turns = obj.get("turns")
    if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
        raise Reject("wrong_type", "'turns' must be a list of strings")
    return Conversation(
        [Message("user", t) for t in turns], id=_row_id(obj), meta=_meta(obj, {"turns"})
    )


def _text(obj: Mapping[str, Any]) -> TextDoc:
    return TextDoc(_str(obj, "text"), id=_row_id(obj), meta=_meta(obj, {"text"}))


def normalize(
    obj: Any, fmt: str, fields: Mapping[str, str] | None = None, *, oasst_paths: str = "best"
) -> list[Conversation] | list[TextDoc]:
    """One raw row -> its records (one, or one per path for OASST trees with paths=all)."""
    if not isinstance(obj, dict):
        raise Reject("not_an_object", f"the row is {type(obj).__name__}, expected an object")
    if fields:
        obj = apply_fields(obj, fields)
    if fmt == "openai":
        return [_openai(obj)]
    if fmt in _PAIR_KEYS:
        return [_pair(obj, fmt)]
    if fmt == "sharegpt":
        return [_sharegpt(obj)]
    if fmt == "openai":
        return [_openai(obj)]
    if fmt == "prompts":
        return [_prompts(obj)]
    if fmt == "text":
        return [_text(obj)]
    if fmt == "oasst":
        from forge.data.oasst import conversations

        return conversations(obj, oasst_paths)
    raise Reject("unknown_format", fmt)
