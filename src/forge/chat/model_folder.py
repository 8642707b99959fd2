"""A model folder's own chat template, read the way transformers reads it.

Looks in chat_template.jinja (which wins, as in transformers), then tokenizer_config.json's
`chat_template`: a string, or a list of {"name", "template"} entries where `default` is used
(and `tool_use` when the caller passes tools). The special tokens the template refers to come
from tokenizer_config.json (strings or AddedToken dicts) and special_tokens_map.json.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from forge.catalog.local import read_json_object, token_text
from forge.chat.template import ChatTemplate
from forge.errors import ForgeError

SPECIAL_KEYS = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)

# End-of-turn strings of well-known families; a model folder's template uses those it contains.
KNOWN_END_OF_TURN = (
    "<|im_end|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<end_of_turn>",
    "<|end|>",
    "<|END_OF_TURN_TOKEN|>",
    "<｜end▁of▁sentence｜>",
    "<|end_of_text|>",
    "<|endoftext|>",
    "</s>",
    "<eos>",
    "<|return|>",
)


def folder_special_tokens(folder: Path) -> dict[str, str]:
    """bos_token, eos_token, ... as transformers passes them to templates."""
    tokens: dict[str, str] = {}
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        path = folder / name
        if path.is_file():
            data = read_json_object(path)
            for key in SPECIAL_KEYS:
                text = token_text(data.get(key))
                if text is not None:
                    tokens[key] = text
    return tokens


def folder_templates(folder: Path) -> dict[str, str]:
    """Every named template a folder ships: {"default": ..., "tool_use": ..., ...}."""
    named: dict[str, str] = {}
    cfg_path = folder / "tokenizer_config.json"
    if cfg_path.is_file():
        raw = read_json_object(cfg_path).get("chat_template")
        if isinstance(raw, str):
            named["default"] = raw
        elif isinstance(raw, list):
            for entry in raw:
                if isinstance(entry, dict) and isinstance(entry.get("template"), str):
                    named[str(entry.get("name", "default"))] = entry["template"]
        elif raw is not None:
            raise ForgeError(
                f"{cfg_path}: `chat_template` must be a string or a list of {{name, template}}",
                "fix tokenizer_config.json or set model.chat_template in forge.yaml",
            )
    extra = folder / "additional_chat_templates"
    if extra.is_dir():
        for f in sorted(extra.glob("*.jinja")):
            named[f.stem] = f.read_text(encoding="utf-8")
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        named["default"] = jinja.read_text(encoding="utf-8")
    return named


def end_of_turn_strings(source_text: str, tokens: dict[str, str]) -> tuple[str, ...]:
    found = [s for s in KNOWN_END_OF_TURN if s in source_text]
    eos = tokens.get("eos_token")
    if eos and eos not in found:
        found.append(eos)
    return tuple(found)


def model_folder_template(
    folder: str | Path,
    template_date: date | None = None,
    name: str | None = None,
    tools: bool = False,
) -> ChatTemplate | None:
    """The folder's own template (None when it has none). `name` picks a named template."""
    folder = Path(folder)
    named = folder_templates(folder)
    if not named:
        return None
    if name is not None:
        if name not in named:
            raise ForgeError(
                f"model folder {folder} has no chat template named {name!r}",
                f"its templates: {', '.join(sorted(named))}",
            )
        key = name
    elif tools and "tool_use" in named:
        key = "tool_use"
    elif "default" in named:
        key = "default"
    else:
        raise ForgeError(
            f"model folder {folder} has several chat templates and none is `default`",
            f"set model.chat_template to one of its names: {', '.join(sorted(named))}",
        )
    text = named[key]
    tokens = folder_special_tokens(folder)
    label = folder.name if key == "default" else f"{folder.name}:{key}"
    return ChatTemplate(
        name=label,
        source_text=text,
        source="model-folder",
        special_tokens=tokens,
        end_of_turn=end_of_turn_strings(text, tokens),
        template_date=template_date,
        path=str(folder),
    )
