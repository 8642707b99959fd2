"""`data:` where raw data comes from and where prepared data goes; `preprocessing:` what
`forge prepare` does to it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from forge.config.base import Section
from forge.config.quality import BalanceConfig, DedupConfig, PackingConfig, SplitConfig


class SourceConfig(Section):
    path: str = Field(description="A file, a folder, or a glob (`data/*.jsonl`).")
    format: str = Field(
        "auto",
        description="Input format: auto, alpaca, sharegpt, openai, prompt_completion, "
        "query_response, prompts, oasst, text.",
    )
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Field mapping from forge names to your column names, e.g. "
        "`{prompt: question, response: answer, system: sys}`.",
    )
    weight: float = Field(
        1.0,
        gt=0,
        description="Sampling weight of this source relative to the others: the train split "
        "keeps each row `weight` times on average (2 doubles it, 0.5 keeps half, seeded).",
    )
    encoding: str | None = Field(None, description="Text encoding; detected when empty.")
    text_unit: Literal["auto", "file", "line"] = Field(
        "auto",
        description="Plain text files: one document per file or per line. auto: markdown and "
        "files without many short lines are one document each.",
    )
    oasst_paths: Literal["best", "all"] = Field(
        "best",
        description="OASST message trees: the best-ranked path only, or every path (one "
        "conversation per leaf).",
    )


class DataConfig(Section):
    name: str = Field(
        "dataset", description="Name of the prepared dataset (folder under `output_dir`)."
    )
    sources: list[SourceConfig] = Field(default_factory=list, description="Raw data sources.")
    output_dir: str = Field("data", description="Where prepared datasets are written.")


class CleaningConfig(Section):
    nfc: bool = Field(True, description="Normalize text to Unicode NFC.")
    fix_mojibake: bool = Field(
        True, description="Repair mojibake (UTF-8 read as Latin-1 and the like) with ftfy."
    )
    control_chars: bool = Field(
        True, description="Remove control characters (keeps newline and tab)."
    )
    whitespace: bool = Field(
        True,
        description="Trim each message, turn CRLF into LF, and squeeze runs of 3+ blank lines.",
    )
    strip_think: bool = Field(
        False, description="Remove `<think>...</think>` blocks (generation artifacts)."
    )
    strip_tool_call: bool = Field(
        False, description="Remove `<tool_call>...</tool_call>` blocks (generation artifacts)."
    )


class RatioFilter(Section):
    numerator: str = Field(
        "response", description="Field on top: prompt, response, system, text or a meta column."
    )
    denominator: str = Field("prompt", description="Field below.")
    min: float | None = Field(None, ge=0, description="Smallest allowed length ratio.")
    max: float | None = Field(None, ge=0, description="Largest allowed length ratio.")


class FilterConfig(Section):
    min_chars: int = Field(1, ge=0, description="Drop rows with fewer characters in total.")
    max_chars: int | None = Field(
        None, gt=0, description="Drop rows with more characters in total."
    )
    min_tokens: int = Field(0, ge=0, description="Drop rows with fewer tokens (after template).")
    max_tokens: int | None = Field(
        None,
        gt=0,
        description="Drop (or truncate, see `truncation`) rows with more tokens. "
        "Empty: model.max_length.",
    )
    ratios: list[RatioFilter] = Field(
        default_factory=list, description="Length ratios between fields, e.g. response/prompt."
    )
    expression: str | None = Field(
        None,
        description="A safe expression over fields that must hold to keep a row, e.g. "
        "`len(response) > 10 and lang == 'en'`. Names: prompt, response, system, text, turns, "
        "n_chars and meta columns; functions: len, lower, upper, contains, startswith, "
        "endswith, int, float, str, abs, min, max.",
    )


class PreprocessingConfig(Section):
    seed: int = Field(0, description="Seed for every random choice in `forge prepare`.")
    kind: Literal["auto", "chat", "pretrain"] = Field(
        "auto",
        description="chat: Parquet per split with labels; pretrain: token shards. auto: chat "
        "unless every source is plain text.",
    )
    sample_rows: int = Field(
        1000, ge=10, description="Rows sampled per source to detect its format."
    )
    cleaning: CleaningConfig = Field(
        default_factory=CleaningConfig, description="Text cleaning (before filters)."
    )
    filters: FilterConfig = Field(default_factory=FilterConfig, description="Row filters.")
    mask: Literal["all_assistant", "last_assistant", "all"] = Field(
        "all_assistant",
        description="Which tokens carry loss: every assistant turn, the last one, or all.",
    )
    truncation: Literal["drop", "truncate"] = Field(
        "drop", description="Rows longer than max_tokens: drop them, or cut them at the limit."
    )
    workers: int | None = Field(
        None, ge=1, description="Worker processes. Empty: every core of this machine."
    )
    executor: Literal["local", "ray"] = Field(
        "local", description="Where shards run: local processes, or a Ray cluster (forge[ray])."
    )
    shard_rows: int = Field(
        10000, ge=100, description="Target rows per shard (the unit of parallelism and resume)."
    )
    outputs: list[Literal["parquet", "jsonl"]] = Field(
        default_factory=lambda: ["parquet"],
        description="Chat output formats: Parquet always; jsonl adds <split>.jsonl.",
    )
    report: bool = Field(
        True,
        description="Write the quality report (report.json, report.html) next to the data.",
    )
    dedup: DedupConfig = Field(
        default_factory=DedupConfig, description="Deduplication (before splitting)."
    )
    split: SplitConfig = Field(
        default_factory=SplitConfig, description="Train / validation / test split."
    )
    balance: BalanceConfig = Field(default_factory=BalanceConfig, description="Class balancing.")
    packing: PackingConfig = Field(default_factory=PackingConfig, description="Sequence packing.")
