"""docs/config.md, generated from the schema: every key, its type, default and description.

`forge config docs -o docs/config.md` writes it; a test checks the file is up to date.
"""

from __future__ import annotations

import json
import types
import typing
from datetime import date

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from forge.config.schema import ForgeConfig

HEADER = """# forge.yaml reference

Every command reads `./forge.yaml` (or `--config PATH`). `forge plan` writes it; only the keys
a plan decides are written, everything else takes the defaults below. Any key can be
overridden with an environment variable (`FORGE_TRAINING__LR=3e-4`: `__` separates levels) or
on the command line (`forge --set training.lr=3e-4 ...`); the command line wins over the
environment, which wins over the file.

Errors name the file, line and key, and unknown keys are errors with a did-you-mean:

```
error: forge.yaml:12: model.max_length: must be greater than 0 (got -5)
```

`forge config validate` checks a file, `forge config show` prints the effective config with
every default, `forge config schema` prints the JSON Schema (for editor completion).

This page is generated from the schema by `forge config docs -o docs/config.md`.
"""

V0 = """
## Version 0 files and `forge config migrate`

Files without a `version` key are version 0, the layout of early forge releases. They load
with a notice (the file is migrated in memory), and `forge config migrate` rewrites the file
in the current layout, keeping the old one as `forge.yaml.bak`. Unknown keys in a version 0
file are errors, as in the current layout.

| version 0 | version 1 |
| --- | --- |
| `model.name`, `model.max_length`, `model.special_tokens` | the same keys |
| `model.architecture` | `model.family` |
| `model.chat_template`: `chatml`, `llama`, `alpaca`, `gemma`, `vicuna` | `model.chat_template`: `chatml`, `llama-2`, `alpaca`, `gemma`, `vicuna` |
| no `chat_template`: chosen from the name (`meta-llama/Llama*` -> llama, `google/gemma*` -> gemma, `lmsys/vicuna*` -> vicuna, `tatsu-lab/alpaca*` -> alpaca, `microsoft/DialoGPT*` -> chatml) | written down in `model.chat_template` |
| `hardware.gpu_arch: cpu` | `hardware.device: cpu`, `hardware.gpus: []` |
| `hardware.gpu_arch`, `vram_gb`, `compute_capability` | one entry in `hardware.gpus` (compute capability from `sm_XY` when absent) |
| `hardware.recommended_batch_size` | `training.batch_size` |
| `preprocessing.validation_split` | `preprocessing.split.validation` |
| `preprocessing.train_split` | implied; rows outside train and validation become `preprocessing.split.test` |
| `hardware.use_gpu_preprocessing`, `preprocessing.chunk_size`, `quality_checks`, `streaming_threshold_gb` | dropped (automatic), with a notice |
"""


def _type(ann: typing.Any) -> str:
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        text = " or ".join(_type(a) for a in inner)
        return text + (" or empty" if len(inner) < len(args) else "")
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin is list:
        if isinstance(args[0], type) and issubclass(args[0], BaseModel):
            return "list (items below)"
        return f"list of {_type(args[0])}"
    if origin is dict:
        return f"mapping of {_type(args[0])} to {_type(args[1])}"
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return "section (below)"
    return {int: "integer", float: "number", str: "text", bool: "true/false", date: "date"}.get(
        ann, getattr(ann, "__name__", str(ann))
    )


def _constraints(metadata: list) -> str:
    words = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    out = []
    for m in metadata:
        for attr, sym in words.items():
            if getattr(m, attr, None) is not None:
                out.append(f"{sym} {getattr(m, attr)}")
        if getattr(m, "pattern", None):
            out.append(f"matches `{m.pattern}`")
    return ", ".join(out)


def _default(field) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if value is PydanticUndefined and field.default_factory is not None:
        value = field.default_factory()
    if isinstance(value, BaseModel):
        return ""
    return f"`{json.dumps(value, default=str)}`"


def _item_model(ann: typing.Any) -> type[BaseModel] | None:
    for a in (ann, *typing.get_args(ann)):
        if isinstance(a, type) and issubclass(a, BaseModel):
            return a
        for b in typing.get_args(a):
            if isinstance(b, type) and issubclass(b, BaseModel):
                return b
    return None


def _section(model: type[BaseModel], prefix: str, out: list[str], level: int) -> None:
    doc = (model.__doc__ or "").strip()
    if doc and not doc.startswith("A forge.yaml section"):
        out += [doc.splitlines()[0], ""]
    out += ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    nested = []
    for name, f in model.model_fields.items():
        key = f"{prefix}{name}"
        sub = _item_model(f.annotation)
        typ = _type(f.annotation)
        cons = _constraints(f.metadata)
        desc = (f.description or "").replace("|", "\\|").replace("\n", " ")
        out.append(
            f"| `{key}` | {typ}{' (' + cons + ')' if cons else ''} | {_default(f)} | {desc} |"
        )
        if sub is not None:
            is_list = typing.get_origin(f.annotation) is list or any(
                typing.get_origin(a) is list for a in typing.get_args(f.annotation)
            )
            nested.append((sub, f"{key}[]." if is_list else f"{key}.", key))
    out.append("")
    for sub, sub_prefix, key in nested:
        out += [f"{'#' * level} `{key}`", ""]
        _section(sub, sub_prefix, out, level + 1)


def render_markdown() -> str:
    out = [HEADER]
    for name, f in ForgeConfig.model_fields.items():
        sub = _item_model(f.annotation)
        if sub is None:
            continue
        out += [f"## `{name}`", "", (f.description or "").strip(), ""]
        _section(sub, f"{name}.", out, 3)
    out.append(
        "## `version`\n\nThe schema version of the file: `1`. Files without it are version 0.\n"
    )
    out.append(V0)
    return "\n".join(out).rstrip() + "\n"
