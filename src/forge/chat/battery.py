"""A fixed battery of conversations that exercises a chat template's every branch.

1 to 6 turns, with and without a system prompt, unicode, empty content, leading and trailing
whitespace, reasoning, tool calls and tool results, and the orders templates refuse (two user
turns in a row, a system message where none is allowed, an assistant first). Used by the tests
(built-ins against their references, byte for byte, errors included) and by
`forge template check`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import jinja2

from forge.chat.template import ChatTemplate

TEXTS = (
    "Hello, who are you?",
    "I am a helpful assistant. How can I help you today?",
    "Grüße aus Köln — 你好，世界 👋🏽",
    "",
    "  padded on both sides  ",
    "\nstarts with a newline",
    "multi\nline\n\ntext with a trailing newline\n",
    "quotes \"double\" and 'single' and a backslash \\ and {{ braces }}",
    "Ça va? ½ × ∞ ≠ 0",
    "Plain answer without anything special.",
)

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "City name"}},
                "required": ["city"],
            },
        },
    }
]


@dataclass
class Case:
    name: str
    messages: list[dict[str, Any]]
    tools: list[dict] | None = None
    add_generation_prompt: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _turns(n: int, offset: int, system: bool) -> list[dict]:
    pick = itertools.cycle(TEXTS[offset:] + TEXTS[:offset])
    msgs = [{"role": "system", "content": "You are a careful assistant.  "}] if system else []
    for k in range(n):
        msgs.append({"role": "user" if k % 2 == 0 else "assistant", "content": next(pick)})
    return msgs


def _tool_call(args_as_text: bool) -> dict:
    args = '{"city": "Paris"}' if args_as_text else {"city": "Paris"}
    return {
        "id": "call12345",
        "type": "function",
        "function": {"name": "get_weather", "arguments": args},
    }


def cases() -> list[Case]:
    out: list[Case] = []
    for gen in (False, True):
        for system in (False, True):
            for n in range(1, 7):
                for offset in (0, 3, 6):
                    out.append(
                        Case(
                            f"turns{n}-sys{int(system)}-o{offset}",
                            _turns(n, offset, system),
                            None,
                            gen,
                        )
                    )
        bad = {
            "assistant-first": [
                {"role": "assistant", "content": "Hi"},
                {"role": "user", "content": "Hello"},
            ],
            "two-users": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
            "system-then-assistant": [
                {"role": "system", "content": "S"},
                {"role": "assistant", "content": "A"},
            ],
            "two-assistants": [
                {"role": "user", "content": "u"},
                {"role": "assistant", "content": "a"},
                {"role": "assistant", "content": "b"},
            ],
            "system-in-middle": [
                {"role": "user", "content": "u"},
                {"role": "system", "content": "s"},
                {"role": "assistant", "content": "a"},
            ],
            "system-only": [{"role": "system", "content": "only a system prompt"}],
            "two-systems": [
                {"role": "system", "content": "s1"},
                {"role": "system", "content": "s2"},
                {"role": "user", "content": "u"},
            ],
            "all-empty": [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}],
        }
        for name, msgs in bad.items():
            out.append(Case(name, msgs, None, gen))
        think = [
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "<think>\nAdd them.\n</think>\n\n4"},
            {"role": "user", "content": "And 3+3?"},
            {"role": "assistant", "content": "<think>Again.</think>6"},
        ]
        out.append(Case("think-in-content", think, None, gen))
        reasoning = [
            {"role": "user", "content": "Why?"},
            {"role": "assistant", "content": "Because.", "reasoning_content": "It is so."},
        ]
        out.append(Case("reasoning-field", reasoning, None, gen))
        for args_as_text in (False, True):
            calls = [
                {"role": "system", "content": "Use tools."},
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": "", "tool_calls": [_tool_call(args_as_text)]},
                {"role": "tool", "content": '{"temperature": 21}', "tool_call_id": "call12345"},
                {"role": "assistant", "content": "It is 21 °C in Paris."},
            ]
            tag = "text" if args_as_text else "dict"
            out.append(Case(f"tool-roundtrip-{tag}", calls, TOOLS, gen))
            out.append(Case(f"tool-roundtrip-notools-{tag}", calls, None, gen))
            out.append(Case(f"tools-listed-{tag}", calls[:2], TOOLS, gen))
        none_content = [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [_tool_call(True), _tool_call(True)],
            },
            {"role": "tool", "content": "21", "tool_call_id": "call12345"},
            {"role": "tool", "content": "19", "tool_call_id": "call12345"},
            {"role": "assistant", "content": "Paris 21, Rome 19."},
            {"role": "user", "content": "Thanks"},
        ]
        out.append(Case("two-calls-content-none", none_content, TOOLS, gen))
        missing = [dict(m) for m in none_content]
        del missing[1]["content"]
        out.append(Case("two-calls-content-missing", missing, TOOLS, gen))
        single = [
            none_content[0],
            {"role": "assistant", "content": None, "tool_calls": [_tool_call(True)]},
            none_content[2],
        ]
        out.append(Case("one-call-content-none", single, None, gen))
        bad_id = [
            none_content[0],
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [dict(_tool_call(False), id="short")],
            },
        ]
        out.append(Case("tool-call-bad-id", bad_id, TOOLS, gen))
        dup = [
            {"role": "user", "content": "same"},
            {"role": "assistant", "content": "x"},
            {"role": "user", "content": "same"},
        ]
        out.append(Case("repeated-user-with-tools", dup, TOOLS, gen))
        parts = [
            {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
            {
                "role": "user",
                "content": [{"type": "image"}, {"type": "text", "text": " Describe it. "}],
            },
        ]
        out.append(Case("content-parts", parts, None, gen))
        for key, value in (
            ("enable_thinking", False),
            ("enable_thinking", True),
            ("date_string", "01 Feb 2025"),
            ("tools_in_user_message", False),
            ("builtin_tools", ["brave_search", "code_interpreter"]),
        ):
            out.append(
                Case(
                    f"kw-{key}-{value}",
                    _turns(4, 0, True),
                    TOOLS if key != "enable_thinking" else None,
                    gen,
                    {key: value},
                )
            )
        builtin_call = [
            {"role": "user", "content": "Search"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "type": "function",
                        "function": {"name": "brave_search", "arguments": {"query": "forge"}},
                    }
                ],
            },
            {"role": "ipython", "content": "results"},
        ]
        out.append(
            Case("builtin-tool-call", builtin_call, None, gen, {"builtin_tools": ["brave_search"]})
        )
        out.append(Case("custom-tools", _turns(2, 0, False), None, gen, {"custom_tools": TOOLS}))
    return out


def outcome(template: ChatTemplate, case: Case, **specials: Any) -> tuple[str, str]:
    """("ok", text) or ("error", "<ExceptionType>: <message>") for one case."""
    try:
        text = template.render_dicts(
            [dict(m) for m in case.messages],
            case.add_generation_prompt,
            case.tools,
            **specials,
            **case.extra,
        )
    except (jinja2.TemplateError, TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
        return "error", f"{type(e).__name__}: {e}"
    return "ok", text
