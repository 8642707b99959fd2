"""Row filters: lengths in characters, ratios between fields, and a safe expression.

The expression is parsed with ``ast`` and evaluated by a small interpreter that knows only
literals, field names, comparisons, boolean and arithmetic operators, subscripts and a fixed
set of functions: no attribute access, no imports, no Python ``eval``. A config mistake (a
syntax error, an unknown function) is a ForgeError at start-up, before any row is read.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

from forge.chat.conversation import Conversation
from forge.config.data import FilterConfig
from forge.data.clean import total_chars
from forge.data.normalize import Reject
from forge.data.records import TextDoc
from forge.errors import ForgeError

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "lower": lambda s: str(s).lower(),
    "upper": lambda s: str(s).upper(),
    "contains": lambda s, sub: sub in s,
    "startswith": lambda s, p: str(s).startswith(p),
    "endswith": lambda s, p: str(s).endswith(p),
    "int": int,
    "float": float,
    "str": str,
    "abs": abs,
    "min": min,
    "max": max,
}
_BIN = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_CMP = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_ALLOWED = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.BinOp,
    ast.Compare,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Call,
    ast.Subscript,
    ast.List,
    ast.Tuple,
    *_BIN,
    *_CMP,
)


class Expression:
    """A compiled safe expression; ``Expression(src)(fields) -> value``."""

    def __init__(self, source: str):
        self.source = source
        try:
            self.tree = ast.parse(source, mode="eval")
        except SyntaxError as e:
            raise ForgeError(
                f"preprocessing.filters.expression: syntax error at column {e.offset}: {source!r}",
                "write a Python-like expression, e.g. `len(response) > 10 and lang == 'en'`",
            ) from None
        for node in ast.walk(self.tree):
            if not isinstance(node, _ALLOWED):
                raise ForgeError(
                    f"preprocessing.filters.expression: '{type(node).__name__}' is not allowed "
                    f"in {source!r}",
                    "use fields, literals, comparisons, and/or/not, + - * / and the functions "
                    + ", ".join(FUNCTIONS),
                )
            if isinstance(node, ast.Call) and (
                not isinstance(node.func, ast.Name)
                or node.func.id not in FUNCTIONS
                or node.keywords
            ):
                name = getattr(node.func, "id", "?")
                raise ForgeError(
                    f"preprocessing.filters.expression: unknown function '{name}' in {source!r}",
                    "available: " + ", ".join(FUNCTIONS),
                )

    def __call__(self, env: dict[str, Any]) -> Any:
        return _eval(self.tree.body, env)


def _eval(node: ast.AST, env: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env.get(node.id)
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            v: Any = True
            for sub in node.values:
                v = _eval(sub, env)
                if not v:
                    return v
            return v
        v = False
        for sub in node.values:
            v = _eval(sub, env)
            if v:
                return v
        return v
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        return (not v) if isinstance(node.op, ast.Not) else -v
    if isinstance(node, ast.BinOp):
        return _BIN[type(node.op)](_eval(node.left, env), _eval(node.right, env))
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env)
        for op, comp in zip(node.ops, node.comparators, strict=False):
            right = _eval(comp, env)
            if not _CMP[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id](*[_eval(a, env) for a in node.args])  # type: ignore[attr-defined]
    if isinstance(node, ast.Subscript):
        return _eval(node.value, env)[_eval(node.slice, env)]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(e, env) for e in node.elts]
    raise TypeError(type(node).__name__)  # unreachable: checked at compile time


def fields_of(rec: Conversation | TextDoc) -> dict[str, Any]:
    """The names a filter sees: prompt, response, system, text, turns, n_chars + meta."""
    env: dict[str, Any] = {k: v for k, v in rec.meta.items() if isinstance(k, str)}
    if isinstance(rec, TextDoc):
        env.update(text=rec.text, prompt="", response="", system="", turns=0)
    else:
        by: dict[str, list[str]] = {"user": [], "assistant": [], "system": []}
        for m in rec.messages:
            if m.role in by:
                by[m.role].append(m.content)
        env.update(
            prompt="\n".join(by["user"]),
            response="\n".join(by["assistant"]),
            system="\n".join(by["system"]),
            text="\n".join(m.content for m in rec.messages),
            turns=len(rec.messages),
        )
    env["n_chars"] = total_chars(rec)
    return env


class Filters:
    """All character-level filters of `preprocessing.filters`; ``check`` raises Reject."""

    def __init__(self, cfg: FilterConfig):
        self.cfg = cfg
        self.expr = Expression(cfg.expression) if cfg.expression else None

    def check(self, rec: Conversation | TextDoc, n_chars: int) -> None:
        cfg = self.cfg
        if n_chars < cfg.min_chars:
            raise Reject("too_short", f"{n_chars} characters < min_chars {cfg.min_chars}")
        if cfg.max_chars is not None and n_chars > cfg.max_chars:
            raise Reject("too_long_chars", f"{n_chars} characters > max_chars {cfg.max_chars}")
        if not cfg.ratios and self.expr is None:
            return
        env = fields_of(rec)
        for r in cfg.ratios:
            num, den = env.get(r.numerator), env.get(r.denominator)
            ratio = len(str(num or "")) / max(1, len(str(den or "")))
            if (r.min is not None and ratio < r.min) or (r.max is not None and ratio > r.max):
                raise Reject(
                    "ratio", f"len({r.numerator})/len({r.denominator}) = {ratio:.3g} out of range"
                )
        if self.expr is not None:
            try:
                keep = self.expr(env)
            except Exception as e:  # a row the expression cannot judge (a None, a bad type)
                raise Reject("expression_error", f"{type(e).__name__}: {e}") from None
            if not keep:
                raise Reject("expression", f"{self.expr.source!r} is false")
