"""The Jinja environment chat templates run in, set up as transformers sets it up.

Model folders ship templates written against transformers' `apply_chat_template`, so forge
renders them with the same options (`trim_blocks`, `lstrip_blocks`), the same sandbox and the
same helpers (`raise_exception`, `tojson` without HTML escaping, `strftime_now`, the
`{% generation %}` tag, `break`/`continue`, a namespace that refuses underscore names).
Anything else would render a different string for some template, and a different string
trains a different model.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

import jinja2
import jinja2.ext
import jinja2.nodes
import jinja2.utils
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TemplateRaised(jinja2.exceptions.TemplateError):
    """A template called `raise_exception(message)`: the conversation does not fit it."""


def raise_exception(message: str) -> None:
    raise TemplateRaised(message)


def tojson(
    x: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    # Jinja's own `tojson` escapes <, >, & and ' for HTML; chat templates expect plain JSON.
    return json.dumps(
        x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


def strftime_now(fmt: str) -> str:
    """Today's date (a render passes its own `strftime_now` to pin the date)."""
    return datetime.now().strftime(fmt)


class GenerationTag(jinja2.ext.Extension):
    """`{% generation %}...{% endgeneration %}`: marks assistant output; renders its body as is.

    Forge computes trainable spans for any template (see forge.chat.spans), so the tag only has
    to render exactly like transformers: the body, unchanged.
    """

    tags = {"generation"}

    def parse(self, parser: jinja2.parser.Parser) -> jinja2.nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

    def _body(self, caller: Any) -> str:
        return caller()


class _Dict:
    """`dict(...)` inside a template, without exposing the dict type itself."""

    def __call__(self, *args: Any, **kwargs: Any) -> dict:
        return dict(*args, **kwargs)

    def fromkeys(self, *args: Any, **kwargs: Any) -> dict:
        return dict.fromkeys(*args, **kwargs)


class _Namespace(jinja2.utils.Namespace):
    """`namespace(...)` that refuses underscore-prefixed attributes (no reach into internals)."""

    def __init__(*args: Any, **kwargs: Any) -> None:  # same signature trick as jinja's Namespace
        self, args = args[0], args[1:]
        attrs = dict(*args, **kwargs)
        for name in attrs:
            _Namespace._check(name)
        jinja2.utils.Namespace.__init__(self, attrs)

    def __setitem__(self, name: str, value: Any) -> None:
        _Namespace._check(name)
        jinja2.utils.Namespace.__setitem__(self, name, value)

    @staticmethod
    def _check(name: Any) -> None:
        if isinstance(name, str) and name.startswith("_"):
            raise jinja2.exceptions.SecurityError(
                f"Chat templates cannot store underscore-prefixed attributes on a namespace, but got {name!r}."
            )


def _configure(env: jinja2.Environment) -> jinja2.Environment:
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    env.globals["dict"] = _Dict()
    env.globals["namespace"] = _Namespace
    return env


@lru_cache(maxsize=1)
def sandboxed_env() -> jinja2.Environment:
    """For templates forge did not write (model folders, files, inline): sandboxed."""
    return _configure(
        ImmutableSandboxedEnvironment(
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=[GenerationTag, jinja2.ext.loopcontrols],
        )
    )


@lru_cache(maxsize=1)
def trusted_env() -> jinja2.Environment:
    """For forge's own built-in templates: same options, no sandbox checks (faster).

    The built-ins are tested to render byte-for-byte what the sandboxed environment renders.
    """
    return _configure(
        jinja2.Environment(
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=[GenerationTag, jinja2.ext.loopcontrols],
            autoescape=False,
        )
    )


@lru_cache(maxsize=256)
def compile_template(source: str, trusted: bool = False) -> jinja2.Template:
    """Compile once; every later call with the same source returns the cached template."""
    env = trusted_env() if trusted else sandboxed_env()
    return env.from_string(source)
