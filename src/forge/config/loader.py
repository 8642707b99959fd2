"""Load, override, validate and save forge.yaml.

Errors name the file, the line and the key path, and say what is allowed, e.g.
``forge.yaml:12: model.max_length: must be greater than 0 (got -5)``.
Overrides apply in this order: the file, then ``FORGE_SECTION__KEY=value`` environment
variables, then ``--set section.key=value`` from the command line.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from forge.config.schema import CURRENT_VERSION, ForgeConfig
from forge.errors import ConfigError, file_errors

ENV_PREFIX = "FORGE_"


def key_lines(text: str) -> dict[tuple, int]:
    """Map every key path in a YAML document to its 1-based line number."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[tuple, int] = {}

    def walk(node: yaml.Node, path: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = (*path, key_node.value)
                lines[key] = key_node.start_mark.line + 1
                walk(value_node, key)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[(*path, i)] = item.start_mark.line + 1
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return lines


def _duplicate_key(text: str) -> tuple[str, int, int] | None:
    """The first key set twice in one mapping: (key path, its line, the first line)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None

    def walk(node: yaml.Node, path: tuple) -> tuple[str, int, int] | None:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key, line = key_node.value, key_node.start_mark.line + 1
                if key in seen:
                    return ".".join(map(str, (*path, key))), line, seen[key]
                seen[key] = line
                found = walk(value_node, (*path, key))
                if found:
                    return found
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                found = walk(item, (*path, i))
                if found:
                    return found
        return None

    return walk(root, ()) if root is not None else None


def _fields_at(loc: tuple) -> list[str]:
    """Field names allowed at the mapping that contains ``loc`` (for did-you-mean)."""
    model: Any = ForgeConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        model = _inner_model(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    """The BaseModel inside ``X``, ``X | None`` or ``list[X]``, else the annotation."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if isinstance(found, type) and issubclass(found, BaseModel):
            return found
    return annotation


def _describe(error: Mapping[str, Any]) -> str:
    loc = tuple(p for p in error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1])
        close = difflib.get_close_matches(name, _fields_at(loc), n=1, cutoff=0.5)
        allowed = ", ".join(_fields_at(loc))
        if close:
            return f"unknown key (did you mean '{close[0]}'?)"
        return f"unknown key (allowed: {allowed})"
    msg = str(error["msg"])
    for prefix in ("Input should be ", "Value should be ", "Value must be "):
        if msg.startswith(prefix):
            msg = "must be " + msg[len(prefix) :]
            break
    if kind == "missing":
        return "is required"
    if "input" in error and not isinstance(error["input"], (dict, list)):
        msg += (
            f" (got {error['input']!r})"
            if isinstance(error["input"], str)
            else f" (got {error['input']})"
        )
    return msg


def format_validation_error(
    err: ValidationError,
    source: str,
    lines: dict[tuple, int],
    origins: Mapping[tuple, str] | None = None,
) -> str:
    """One line per problem: ``source:line: key.path: message``; a key an override set is
    reported with that override (``--set training.lr=x``, ``environment FORGE_...``)."""
    out = []
    for e in err.errors():
        loc = tuple(e["loc"])
        keypath = ".".join(str(p) for p in loc) or "(top level)"
        where = _where(loc, source, lines, origins or {})
        out.append(f"{where}: {keypath}: {_describe(e)}")
    return "\n".join(out)


def _where(loc: tuple, source: str, lines: dict[tuple, int], origins: Mapping[tuple, str]) -> str:
    for n in range(len(loc), 0, -1):
        if loc[:n] in origins:
            return origins[loc[:n]]
    for n in range(len(loc), 0, -1):
        if loc[:n] in lines:
            return f"{source}:{lines[loc[:n]]}"
    return source


class _Loader(yaml.SafeLoader):
    """Safe YAML, except that a date-like value that is no real date (2025-13-45) stays a string,
    so validation reports it with its key and line instead of the YAML reader crashing."""


def _timestamp(loader: _Loader, node: yaml.Node) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def _yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def _parse_value(raw: str) -> Any:
    """Values from the environment or --set are YAML scalars/flows: `3e-4`, `true`, `[a, b]`."""
    try:
        return _yaml(raw) if raw != "" else ""
    except yaml.YAMLError:
        return raw


def _list_index(node: list, part: str, origin: str, path: list[str]) -> int:
    try:
        i = int(part)
        node[i]
    except (ValueError, IndexError):
        raise ConfigError(
            f"{origin}: {'.'.join(path)}: no item {part!r} in a list of {len(node)}",
            "index list items from 0, e.g. data.sources.0.path=...",
        ) from None
    return i


def _set_path(data: dict, path: list[str], value: Any, origin: str) -> None:
    node: Any = data
    for i, part in enumerate(path[:-1]):
        if isinstance(node, list):
            node = node[_list_index(node, part, origin, path)]
            continue
        nxt = node.get(part)
        if nxt is None:
            nxt = {}
            node[part] = nxt
        if not isinstance(nxt, (dict, list)):
            raise ConfigError(
                f"{origin}: {'.'.join(path[: i + 1])} is a value, not a section",
                "set a key inside a section, e.g. training.lr=3e-4",
            )
        node = nxt
    last = path[-1]
    if isinstance(node, list):
        node[_list_index(node, last, origin, path)] = value
    else:
        node[last] = value


def env_overrides(environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """``FORGE_TRAINING__LR=3e-4`` -> ``("training.lr", "3e-4")``; `__` separates levels."""
    environ = os.environ if environ is None else environ
    out = []
    for key, value in sorted(environ.items()):
        if key.startswith(ENV_PREFIX) and "__" in key:
            path = key[len(ENV_PREFIX) :].lower().split("__")
            out.append((".".join(path), value))
    return out


def apply_overrides(
    data: dict,
    sets: Iterable[str],
    environ: Mapping[str, str] | None = None,
    origins: dict[tuple, str] | None = None,
) -> dict:
    """Apply environment overrides, then ``key=value`` strings, to a raw config dict.

    ``origins`` (when given) records which override set each key path, for `validate`.
    """
    done: list[tuple[list[str], str]] = []
    for key, raw in env_overrides(environ):
        origin = f"environment FORGE_{key.upper().replace('.', '__')}"
        _set_path(data, key.split("."), _parse_value(raw), origin)
        done.append((key.split("."), origin))
    for item in sets:
        if "=" not in item:
            raise ConfigError(f"--set {item}: expected key=value", "e.g. --set training.lr=3e-4")
        key, raw = item.split("=", 1)
        _set_path(data, key.strip().split("."), _parse_value(raw), f"--set {item}")
        done.append((key.strip().split("."), f"--set {item}"))
    if origins is not None:
        for parts, origin in done:  # list indexes appear as ints in validation errors
            origins[tuple(int(p) if p.isdigit() else p for p in parts)] = origin
    return data


def read_yaml(path: Path) -> tuple[dict, str]:
    """Raw mapping and text of a YAML file, with a clear error when it is not one."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: no such file", "run `forge plan` to write one") from e
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{path}: not UTF-8 text ({e.reason} at byte {e.start})", "save the file as UTF-8"
        ) from e
    except OSError as e:  # a folder, no permission, ...
        raise ConfigError(
            f"{path}: cannot read ({e.strerror or e})", "give the path of a forge.yaml file"
        ) from e
    try:
        data = _yaml(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(
            f"{where}: invalid YAML: {problem}", "check indentation and quoting"
        ) from e
    dup = _duplicate_key(text)
    if dup is not None:
        keypath, line, first = dup
        raise ConfigError(
            f"{path}:{line}: {keypath}: duplicate key (first set at line {first})",
            "keep one of them; YAML would silently use the last",
        )
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}:1: expected a mapping of sections, got {type(data).__name__}",
            "forge.yaml starts with sections such as `model:` and `training:`",
        )
    return data, text


def validate(
    data: dict,
    source: str = "forge.yaml",
    text: str = "",
    origins: Mapping[tuple, str] | None = None,
) -> ForgeConfig:
    """Validate a raw dict into a ForgeConfig; errors carry file, line and key path (or the
    override that set the key, from ``origins``)."""
    try:
        return ForgeConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(
            format_validation_error(e, source, key_lines(text) if text else {}, origins),
            "fix the keys above; `forge config schema` lists every key and its allowed values",
        ) from None


def load_config(
    path: str | Path = "forge.yaml",
    sets: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    notices: list[str] | None = None,
) -> ForgeConfig:
    """Load forge.yaml, migrating an older version (a notice is appended to ``notices``)."""
    from forge.config.migrate import migrate

    path = Path(path)
    data, text = read_yaml(path)
    version = data.get("version", 0)
    if version != CURRENT_VERSION:
        steps: list[str] = []
        data = migrate(data, str(path), steps, key_lines(text))
        if notices is not None:
            notices.append(
                f"{path} is version {version}; migrated to version {CURRENT_VERSION} in memory "
                "(run `forge config migrate` to rewrite the file)"
            )
            notices += steps
        text = ""  # line numbers refer to the old layout
    origins: dict[tuple, str] = {}
    data = apply_overrides(data, sets, environ, origins)
    return validate(data, str(path), text, origins)


def dump_config(cfg: ForgeConfig, full: bool = False) -> str:
    """YAML text of a config. ``full`` includes every default; otherwise only what was set."""
    data = cfg.model_dump(mode="json", exclude_unset=not full)
    data = {"version": cfg.version, **{k: v for k, v in data.items() if k != "version"}}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def save_config(cfg: ForgeConfig, path: str | Path, full: bool = False) -> None:
    """Write forge.yaml atomically (temp file + rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with file_errors(path, "write", "choose a writable file path in an existing folder"):
        tmp.write_text(dump_config(cfg, full=full), encoding="utf-8")
        os.replace(tmp, path)
