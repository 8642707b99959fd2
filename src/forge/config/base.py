"""The base class every forge.yaml section derives from: unknown keys are errors."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A forge.yaml section. Every field carries a description: the docs come from the schema."""

    # No setting means infinity or NaN: `lr: .inf` is a typo, and NaN passes every bound check.
    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        use_attribute_docstrings=True,
        allow_inf_nan=False,
    )
