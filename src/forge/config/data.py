"""`data:` where raw data comes from and where prepared data goes; `preprocessing:` what
`forge prepare` does to it."""

from __future__ import annotations

from pydantic import Field

from forge.config.base import Section
from forge.config.quality import BalanceConfig, DedupConfig, PackingConfig, SplitConfig


class SourceConfig(Section):
    path: str = Field(description="A file, a folder, or a glob (`data/*.jsonl`).")
    format: str = Field(
        "auto",
        description="Input format: auto, alpaca, sharegpt, openai, prompt_completion, "
        "query_response, oasst, text.",
    )
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Field mapping from forge names to your column names, e.g. "
        "`{prompt: question, response: answer, system: sys}`.",
    )
    weight: float = Field(
        1.0, gt=0, description="Sampling weight of this source relative to the others."
    )
    encoding: str | None = Field(None, description="Text encoding; detected when empty.")


class DataConfig(Section):
    name: str = Field(
        "dataset", description="Name of the prepared dataset (folder under `output_dir`)."
    )
    sources: list[SourceConfig] = Field(default_factory=list, description="Raw data sources.")
    output_dir: str = Field("data", description="Where prepared datasets are written.")


class PreprocessingConfig(Section):
    seed: int = Field(0, description="Seed for every random choice in `forge prepare`.")
    dedup: DedupConfig = Field(
        default_factory=DedupConfig, description="Deduplication (before splitting)."
    )
    split: SplitConfig = Field(
        default_factory=SplitConfig, description="Train / validation / test split."
    )
    balance: BalanceConfig = Field(default_factory=BalanceConfig, description="Class balancing.")
    packing: PackingConfig = Field(default_factory=PackingConfig, description="Sequence packing.")
