"""Property tests for forge.yaml: any valid ForgeConfig survives save -> load unchanged, and
an invalid value anywhere is rejected with its key path named.

The strategies are built from the schema itself, so every field any area adds is covered.
"""

from __future__ import annotations

import types
import typing
from datetime import date

import annotated_types as at
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from forge.config import ForgeConfig, load_config, save_config
from forge.config.base import Section
from forge.errors import ConfigError

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=12)


def _bounds(metadata) -> dict:
    b: dict = {}
    for m in metadata:
        if isinstance(m, at.Gt):
            b["gt"] = m.gt
        elif isinstance(m, at.Ge):
            b["ge"] = m.ge
        elif isinstance(m, at.Lt):
            b["lt"] = m.lt
        elif isinstance(m, at.Le):
            b["le"] = m.le
        elif hasattr(m, "pattern") and m.pattern:
            b["pattern"] = m.pattern
    return b


def _number(kind, b: dict) -> st.SearchStrategy:
    lo = b.get("ge", b.get("gt"))
    hi = b.get("le", b.get("lt"))
    if kind is int:
        lo = None if lo is None else (lo + 1 if "gt" in b else lo)
        hi = None if hi is None else (hi - 1 if "lt" in b else hi)
        return st.integers(
            min_value=lo if lo is not None else -(10**6), max_value=hi if hi is not None else 10**6
        )
    return st.floats(
        min_value=lo if lo is not None else -1e6,
        max_value=hi if hi is not None else 1e6,
        exclude_min="gt" in b,
        exclude_max="lt" in b,
        allow_nan=False,
        allow_infinity=False,
    )


def strategy(annotation, metadata=()) -> st.SearchStrategy:
    b = _bounds(metadata)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return strategy(args[0], (*metadata, *args[1:]))
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*[strategy(a, metadata) for a in args])
    if origin is typing.Literal:
        return st.sampled_from(args)
    if annotation is type(None):
        return st.none()
    if origin is list:
        return st.lists(strategy(args[0]), max_size=2)
    if origin is dict:
        return st.dictionaries(TEXT.filter(bool), strategy(args[1]), max_size=2)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return section(annotation)
    if annotation is bool:
        return st.booleans()
    if annotation in (int, float):
        return _number(annotation, b)
    if annotation is str:
        return st.from_regex(b["pattern"], fullmatch=True) if "pattern" in b else TEXT
    if annotation is date:
        return st.dates()
    raise NotImplementedError(f"no strategy for {annotation!r}: extend this test")


def section(model: type[BaseModel]) -> st.SearchStrategy:
    """A dict of any subset of the model's fields (required ones always) with valid values."""
    required, optional = {}, {}
    for name, f in model.model_fields.items():
        strat = strategy(f.annotation, f.metadata)
        (required if f.is_required() else optional)[name] = strat
    return st.fixed_dictionaries(required, optional=optional)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(section(ForgeConfig))
def test_any_valid_config_survives_save_and_load(tmp_path_factory, raw):
    # Field bounds come from the schema; cross-field rules (e.g. dedup bands x rows <=
    # num_perm) are model validators, so a generated dict may still be invalid: skip those.
    try:
        cfg = ForgeConfig.model_validate(raw)
    except ValidationError:
        assume(False)
    path = tmp_path_factory.mktemp("cfg") / "forge.yaml"
    save_config(cfg, path)
    loaded = load_config(path, environ={})
    assert loaded == cfg
    save_config(cfg, path, full=True)  # with every default written out, too
    assert load_config(path, environ={}) == cfg


def _constrained_paths(model: type[BaseModel], prefix: tuple = ()) -> list[tuple[tuple, object]]:
    """Every (key path, invalid value) the schema must reject: bounds broken, wrong types,
    and a Literal outside its choices."""
    out = []
    for name, f in model.model_fields.items():
        path = (*prefix, name)
        ann = f.annotation
        args = [ann]
        if typing.get_origin(ann) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
        inner = args[0]
        if isinstance(inner, type) and issubclass(inner, Section) and len(args) == 1:
            out += _constrained_paths(inner, path)
            continue
        item = typing.get_args(inner)[0] if typing.get_origin(inner) is list else None
        if isinstance(item, type) and issubclass(item, Section):
            out += _constrained_paths(item, (*path, 0))  # the first item of a list of sections
            continue
        b = _bounds(f.metadata)
        if inner in (int, float) and not isinstance(inner, bool):
            if "gt" in b:
                out.append((path, b["gt"]))
            if "ge" in b:
                out.append((path, b["ge"] - 1))
            if "lt" in b:
                out.append((path, b["lt"]))
            out.append((path, "not a number"))
        elif inner is bool:
            out.append((path, "maybe"))
        elif typing.get_origin(inner) is typing.Literal:
            out.append((path, "no-such-choice"))
    return out


INVALID = _constrained_paths(ForgeConfig)


def _load_raw(tmp_path_factory, raw: dict):
    """Write ``raw`` as forge.yaml and load it: (path, the ConfigError or None)."""
    import yaml

    p = tmp_path_factory.mktemp("cfg") / "forge.yaml"
    p.write_text(yaml.safe_dump(raw, sort_keys=False))
    try:
        load_config(p, environ={})
    except ConfigError as e:
        return p, e
    return p, None


def _minimal(model: type[BaseModel]) -> dict:
    """The required fields of a section with plain valid values (str "x", numbers 1)."""
    out = {}
    for name, f in model.model_fields.items():
        if f.is_required():
            ann = f.annotation
            out[name] = "x" if ann is str else 1 if ann in (int, float) else {}
    return out


def _with_value(path: tuple, value) -> dict:
    """A raw config with ``value`` at ``path``; list items get their required fields."""
    raw: dict = {"version": 1}
    node: typing.Any = raw
    model: typing.Any = ForgeConfig
    i = 0
    while i < len(path) - 1:
        part = path[i]
        ann = model.model_fields[part].annotation
        inner = ann
        if typing.get_origin(ann) in (typing.Union, types.UnionType):
            inner = [a for a in typing.get_args(ann) if a is not type(None)][0]
        if isinstance(path[i + 1], int):  # a list of sections: fill the first item
            model = typing.get_args(inner)[0]
            node = node.setdefault(part, [_minimal(model)])[path[i + 1]]
            i += 2
        else:
            model = inner
            node = node.setdefault(part, {})
            i += 1
    node[path[-1]] = value
    return raw


def test_the_schema_has_constraints_to_check():
    assert len(INVALID) > 20


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(INVALID))
def test_invalid_values_are_rejected_with_the_key_path(tmp_path_factory, case):
    path, value = case
    p, e = _load_raw(tmp_path_factory, _with_value(path, value))
    assert e is not None, f"{path}={value!r} was accepted"
    dotted = ".".join(map(str, path))
    assert f": {dotted}: " in e.message, e.message
    assert f"{p}:" in e.message  # the file and its line


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(sorted({p for p, _ in INVALID}, key=str)))
def test_unknown_keys_are_rejected_with_did_you_mean(tmp_path_factory, real):
    raw = _with_value(real, 1)
    node = raw
    for part in real[:-1]:
        node = node[part]
    del node[real[-1]]
    node[real[-1] + "x"] = 1  # a misspelling of a real key
    path = (*real[:-1], real[-1] + "x")
    _, e = _load_raw(tmp_path_factory, raw)
    assert e is not None, "a misspelled key was accepted"
    dotted = ".".join(map(str, path))
    assert f"{dotted}: unknown key (did you mean '{real[-1]}'?)" in e.message, e.message
