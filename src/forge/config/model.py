"""`model:` which model forge prepares data for and trains."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from forge.config.base import Section


class ModelConfig(Section):
    name: str | None = Field(
        None,
        description="Model to prepare for and train: a Hugging Face id, a local model folder, "
        "or a forge preset such as `char-tiny`.",
    )
    family: str | None = Field(
        None,
        description="Model family from the catalog (e.g. `llama-3.1`); found from `name` when empty.",
    )
    chat_template: str | None = Field(
        None,
        description="Chat template: a built-in name (`forge template list`), a path to a .jinja file, "
        "or an inline Jinja template. Empty: the model folder's own, then the catalog's family.",
    )
    template_date: date | None = Field(
        None,
        description="Date that date-dependent chat templates print (`strftime_now` and `date_string`: "
        "Llama 3.1/3.2, SmolLM3); set it so renders are reproducible. Empty: today's date, given to "
        "every template as both.",
    )
    tokenizer: str | None = Field(
        None,
        description="Tokenizer: a local model folder, a tokenizer.json, or `char` / `bpe` (trained "
        "on the data by `forge prepare`, or by `forge train` on a text file). Empty: the model's "
        "own.",
    )
    max_length: int = Field(2048, gt=0, description="Maximum sequence length in tokens.")
    special_tokens: dict[str, str] = Field(
        default_factory=dict, description="Special tokens by role (bos, eos, pad, unk)."
    )
