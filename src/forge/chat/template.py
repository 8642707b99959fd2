"""`ChatTemplate`: a compiled chat template with its name, hash, origin and default special tokens.

`get_template(spec)` turns a built-in name, a .jinja path or inline Jinja into one;
`resolve_template(model_cfg)` picks the template for a model in a fixed order (forge.yaml, the
model folder's own, the catalog's family) and never guesses.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
import xxhash

from forge.chat import builtin
from forge.chat.conversation import Conversation, Message
from forge.chat.jinja_env import compile_template
from forge.errors import ForgeError

# Names a message's reasoning may come under; templates read `reasoning_content` (gpt-oss: `thinking`).
_REASONING_KEYS = ("reasoning_content", "thinking", "reasoning")


class TemplateRenderError(ForgeError):
    """The template refused a conversation (raise_exception) or failed on it."""


# A template that tests a message's content against none (DeepSeek's tool-call turns) needs
# content None where there is no text; every other one gets "" and so never fails on None.
_TESTS_NONE_CONTENT = re.compile(r"\bcontent['\"]?\]?\s+is\s+(?:not\s+)?none")


def template_inputs(
    messages: Conversation | Sequence[Message | Mapping[str, Any]], none_content: bool = True
) -> list[dict]:
    """Messages as a template sees them under transformers: dicts, keys with value None dropped
    (but content, which is None or "" as `none_content` says), reasoning given under every name
    templates read it by."""
    if isinstance(messages, Conversation):
        messages = messages.messages
    out = []
    for m in messages:
        if isinstance(m, Message):
            d = m.to_dict()
        else:
            d = {k: v for k, v in m.items() if v is not None or k == "content"}
        if d.get("content", "") is None and not none_content:
            d["content"] = ""
        if "reasoning_content" in d or "thinking" in d or "reasoning" in d:
            reasoning = next((d[k] for k in _REASONING_KEYS if d.get(k) is not None), None)
            if reasoning is not None:
                d = {"thinking": reasoning, **d, "reasoning_content": reasoning}
        out.append(d)
    return out


@dataclass(eq=False)
class ChatTemplate:
    """A compiled chat template. `render` returns exactly what transformers' apply_chat_template
    renders (tokenize=False) with the same special tokens."""

    name: str
    source_text: str
    source: str
    """"builtin", "file", "inline" or "model-folder"."""
    special_tokens: dict[str, str] = field(default_factory=dict)
    """bos_token, eos_token, ... given to the template unless a render overrides them."""
    end_of_turn: tuple[str, ...] = ()
    template_date: date | None = None
    """The date `strftime_now` and `date_string` give date-dependent templates; None: today."""
    family: builtin.Family | None = None
    path: str | None = None

    def __post_init__(self) -> None:
        # Fixed once, so every render of one run prints the same date even across midnight.
        self.date = self.template_date or date.today()
        self.none_content = bool(_TESTS_NONE_CONTENT.search(self.source_text))
        """Whether the template wants content None (not "") for a message without text."""
        self.hash = xxhash.xxh64_hexdigest(self.source_text.encode("utf-8"))
        try:
            self._compiled = compile_template(self.source_text, trusted=self.source == "builtin")
        except jinja2.TemplateSyntaxError as e:
            where = self.path or self.name
            raise ForgeError(
                f"chat template {where}: Jinja syntax error on line {e.lineno}: {e.message}",
                "fix the template, or choose a built-in one (`forge template list`)",
            ) from None

    def context(self, add_generation_prompt: bool, tools: Any, extra: dict[str, Any]) -> dict:
        ctx: dict[str, Any] = dict(self.special_tokens)
        d = self.date
        ctx["strftime_now"] = lambda fmt: datetime(d.year, d.month, d.day).strftime(fmt)
        ctx["date_string"] = d.strftime("%d %b %Y")
        ctx.update(extra)
        ctx["tools"] = tools
        ctx.setdefault("documents", None)
        ctx["add_generation_prompt"] = add_generation_prompt
        return ctx

    def inputs(self, messages: Conversation | Sequence[Message | Mapping[str, Any]]) -> list[dict]:
        """The messages as this template wants them (see `template_inputs`)."""
        return template_inputs(messages, self.none_content)

    def render_dicts(
        self,
        messages: list[dict],
        add_generation_prompt: bool = False,
        tools: Any = None,
        **extra: Any,
    ) -> str:
        """Render already-prepared message dicts (see `template_inputs`); errors propagate as is."""
        ctx = self.context(add_generation_prompt, tools, extra)
        return self._compiled.render(messages=messages, **ctx)

    def render(
        self,
        messages: Conversation | Sequence[Message | Mapping[str, Any]],
        add_generation_prompt: bool = False,
        tools: Any = None,
        **extra: Any,
    ) -> str:
        """The conversation as text. A template that refuses it raises TemplateRenderError."""
        if isinstance(messages, Conversation) and tools is None:
            tools = messages.tools
        msgs = self.inputs(messages)
        if not msgs:
            raise TemplateRenderError(
                "cannot render an empty conversation", "give at least one message"
            )
        try:
            return self.render_dicts(msgs, add_generation_prompt, tools, **extra)
        except (jinja2.TemplateError, TypeError, ValueError, KeyError, IndexError) as e:
            raise TemplateRenderError(
                f"chat template {self.name} cannot render this conversation: {e}",
                "check the roles and their order against the template (`forge template show`)",
            ) from e

    def __repr__(self) -> str:
        return f"ChatTemplate(name={self.name!r}, source={self.source!r}, hash={self.hash})"


def builtin_template(name: str, template_date: date | None = None) -> ChatTemplate:
    fam = builtin.FAMILIES[name]
    tokens = {}
    if fam.bos is not None:
        tokens["bos_token"] = fam.bos
    if fam.eos is not None:
        tokens["eos_token"] = fam.eos
    return ChatTemplate(
        name=name,
        source_text=builtin.source(name),
        source="builtin",
        special_tokens=tokens,
        end_of_turn=fam.end_of_turn,
        template_date=template_date,
        family=fam,
    )


def _looks_inline(spec: str) -> bool:
    return "{{" in spec or "{%" in spec


def get_template(spec: str, template_date: date | None = None) -> ChatTemplate:
    """A built-in name (`llama-3.1`), a path to a .jinja file, or an inline Jinja template."""
    if spec in builtin.FAMILIES:
        return builtin_template(spec, template_date)
    if _looks_inline(spec):
        return ChatTemplate(
            name="inline", source_text=spec, source="inline", template_date=template_date
        )
    path = Path(spec).expanduser()
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ForgeError(
                f"cannot read chat template {path}: {e}", "give a UTF-8 .jinja file"
            ) from None
        return ChatTemplate(
            name=path.name,
            source_text=text,
            source="file",
            template_date=template_date,
            path=str(path),
        )
    if path.is_dir():
        from forge.chat.model_folder import model_folder_template

        found = model_folder_template(path, template_date)
        if found is not None:
            return found
        raise ForgeError(
            f"model folder {path} has no chat template (tokenizer_config.json `chat_template` or chat_template.jinja)",
            f"set model.chat_template to one of: {', '.join(builtin.names())}",
        )
    close = difflib.get_close_matches(spec, builtin.names(), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise ForgeError(
        f"unknown chat template {spec!r}: not a built-in name, not a file, not inline Jinja",
        f"{hint}built-ins: {', '.join(builtin.names())} (`forge template list`)",
    )
