"""`preprocessing.dedup`, `preprocessing.split`, `preprocessing.packing`: the global steps of
`forge prepare` (deduplication before splitting, then split assignment) and packing."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from forge.config.base import Section


class DedupConfig(Section):
    exact: bool = Field(True, description="Remove exact duplicates (hash of normalized content).")
    near: bool = Field(True, description="Remove near duplicates (MinHash LSH).")


class SplitConfig(Section):
    method: Literal["random", "stratified", "temporal", "grouped"] = Field(
        "random", description="How rows are assigned to splits."
    )
    validation: float = Field(0.05, ge=0, lt=1, description="Fraction of rows for validation.")
    test: float = Field(0.0, ge=0, lt=1, description="Fraction of rows for test.")


class PackingConfig(Section):
    enabled: bool = Field(
        False, description="Pack tokenized rows into sequences of model.max_length."
    )
