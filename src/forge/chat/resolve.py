"""Which chat template a model gets: forge.yaml > the model folder's own > the catalog's family.

Never a silent fallback: when none of them gives a template, the error lists the candidates.
"""

from __future__ import annotations

from pathlib import Path

from forge.chat import builtin
from forge.chat.model_folder import folder_templates, model_folder_template
from forge.chat.template import ChatTemplate, get_template
from forge.config.model import ModelConfig
from forge.errors import ForgeError


def _folder(cfg: ModelConfig) -> Path | None:
    for cand in (cfg.name, cfg.tokenizer):
        if cand and Path(cand).expanduser().is_dir():
            return Path(cand).expanduser()
    return None


def _catalog_template(name: str) -> tuple[str | None, str]:
    """(template name or None, the model id the catalog knows it by)."""
    from forge.catalog import find

    spec = find(name)
    return spec.template, spec.id


def resolve_template(model_cfg: ModelConfig) -> ChatTemplate:
    """The chat template for `model_cfg` (forge.yaml's `model:` section)."""
    when = model_cfg.template_date
    folder = _folder(model_cfg)
    if model_cfg.chat_template:
        # a name among the model folder's own templates (`tool_use`, ...) picks that one
        if folder is not None and model_cfg.chat_template in folder_templates(folder):
            return model_folder_template(folder, when, name=model_cfg.chat_template)  # type: ignore[return-value]
        return get_template(model_cfg.chat_template, when)
    if folder is not None:
        own = model_folder_template(folder, when)
        if own is not None:
            return own
    if model_cfg.family and model_cfg.family in builtin.FAMILIES:
        return get_template(model_cfg.family, when)
    name = str(folder) if folder is not None else model_cfg.name
    if name:
        try:
            template, model_id = _catalog_template(name)
        except ForgeError as e:
            if folder is None:
                raise
            # a folder the catalog cannot place: say what is missing, not what the catalog says
            raise ForgeError(
                f"cannot choose a chat template: model folder {folder} has none and the catalog "
                f"does not know the model ({e.message})",
                f"set model.chat_template to one of: {', '.join(builtin.names())}, a .jinja path, or inline Jinja",
            ) from None
        if template is not None:
            return get_template(template, when)
        if folder is not None:
            raise ForgeError(
                f"cannot choose a chat template: model folder {folder} has none, and the catalog "
                f"has none for it ({model_id})",
                f"set model.chat_template to one of: {', '.join(builtin.names())}, a .jinja path, or inline Jinja",
            )
        raise ForgeError(
            f"model {model_id} has no chat template (a base model)",
            "set model.chat_template to train it on conversations: "
            f"{', '.join(builtin.names())}; or prepare plain text instead",
        )
    raise ForgeError(
        "cannot choose a chat template: no model is named and model.chat_template is empty",
        f"set model.name, or model.chat_template to one of: {', '.join(builtin.names())}",
    )
