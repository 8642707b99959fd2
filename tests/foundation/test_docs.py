"""The docs that come from the code stay in step with it."""

from __future__ import annotations

from pathlib import Path

from forge.config import ForgeConfig
from forge.config.docs import render_markdown

ROOT = Path(__file__).resolve().parents[2]


def _keys(model, prefix=""):
    from forge.config.docs import _item_model

    for name, f in model.model_fields.items():
        yield prefix + name
        sub = _item_model(f.annotation)
        if sub is not None:
            is_list = "list" in str(f.annotation)
            yield from _keys(sub, f"{prefix}{name}{'[]' if is_list else ''}.")


def test_config_reference_lists_every_key_and_is_up_to_date():
    text = (ROOT / "docs" / "config.md").read_text()
    for key in _keys(ForgeConfig):
        if key != "version":
            assert f"`{key}`" in text, f"docs/config.md misses {key}"
    assert text == render_markdown(), (
        "docs/config.md is stale: run `forge config docs -o docs/config.md`"
    )


def test_every_field_has_a_description():
    def walk(model, prefix=""):
        from forge.config.docs import _item_model

        for name, f in model.model_fields.items():
            assert f.description, f"{prefix}{name} has no description"
            sub = _item_model(f.annotation)
            if sub is not None:
                walk(sub, f"{prefix}{name}.")

    walk(ForgeConfig)
