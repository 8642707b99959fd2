"""`preprocessing.dedup`, `preprocessing.split`, `preprocessing.balance`, `preprocessing.packing`:
the global steps of `forge prepare` (deduplication before splitting, then split assignment,
then optional class balancing) and packing. The meaning of every knob is in docs/quality.md."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from forge.config.base import Section


class DedupConfig(Section):
    exact: bool = Field(True, description="Remove exact duplicates (hash of normalized content).")
    near: bool = Field(True, description="Remove near duplicates (MinHash LSH).")
    fields: list[str] = Field(
        default_factory=list,
        description="What makes up the content compared: message roles (system, user, "
        "assistant, tool), `text`, or meta columns. Empty: every message (role and content), "
        "or the text of a document.",
    )
    lowercase: bool = Field(True, description="Fold case before comparing.")
    normalize_whitespace: bool = Field(
        True, description="Collapse runs of whitespace and strip the ends before comparing."
    )
    ngram: Literal["word", "char"] = Field(
        "word", description="Near dedup shingles: word n-grams or character n-grams."
    )
    ngram_size: int = Field(
        3, ge=1, le=64, description="n of the n-grams (shorter documents are one shingle)."
    )
    num_perm: int = Field(
        128, ge=8, le=1024, description="MinHash permutations (signature length)."
    )
    bands: int = Field(
        20,
        ge=1,
        description="LSH bands; bands x rows must not exceed num_perm. Two rows become "
        "candidates when all rows of one band agree: the implied threshold is "
        "(1/bands)^(1/rows) (0.61 for 20 x 6), and a pair at similarity s is a candidate "
        "with probability 1-(1-s^rows)^bands (0.998 at 0.8).",
    )
    rows: int = Field(6, ge=1, description="Signature rows per LSH band.")
    threshold: float = Field(
        0.8,
        gt=0,
        le=1,
        description="Jaccard similarity (of the shingle sets) from which two rows are near "
        "duplicates.",
    )
    recall_z: float = Field(
        1.645,
        ge=0,
        description="Candidates are kept when their estimated similarity (share of equal "
        "MinHash values, all num_perm) is at least threshold - recall_z x sigma, sigma = "
        "sqrt(t(1-t)/num_perm): 1.645 keeps a pair exactly at the threshold with ~95% "
        "probability; 0 verifies at the threshold itself (fewer false pairs, ~50% there).",
    )
    max_bucket_pairs: int = Field(
        64,
        ge=2,
        description="A band bucket with at most this many rows is compared all-pairs; a "
        "larger one only against its lowest row and its neighbours by id (bounded work).",
    )
    seed: int = Field(1, description="Seed of the MinHash permutations.")
    memory_limit: str = Field(
        "128MB",
        pattern=r"^\d+(\.\d+)? ?([KMGT]i?B|B)$",
        description="Memory DuckDB may use in the global dedup step before spilling to the "
        "work folder, e.g. 128MB, 1GB. Under a process memory limit (rlimit or cgroup) it "
        "gets at most a quarter of that limit.",
    )

    @model_validator(mode="after")
    def _bands_rows(self) -> DedupConfig:
        if self.near and self.bands * self.rows > self.num_perm:
            raise ValueError(
                f"bands x rows must not exceed num_perm ({self.bands} x {self.rows} > "
                f"{self.num_perm})"
            )
        return self

    @property
    def implied_threshold(self) -> float:
        """Jaccard similarity at which two rows become LSH candidates with probability ~1/2."""
        return (1.0 / self.bands) ** (1.0 / self.rows)

    @property
    def verify_threshold(self) -> float:
        """The estimated similarity a candidate pair must reach (see `recall_z`)."""
        t = self.threshold
        return max(t - self.recall_z * (t * (1 - t) / self.num_perm) ** 0.5, 0.0)


class SplitConfig(Section):
    method: Literal["random", "stratified", "temporal", "grouped"] = Field(
        "random", description="How rows are assigned to splits."
    )
    validation: float = Field(0.05, ge=0, lt=1, description="Fraction of rows for validation.")
    test: float = Field(0.0, ge=0, lt=1, description="Fraction of rows for test.")
    stratify_by: str | None = Field(
        None,
        description="Column (meta field) whose classes keep the split ratios "
        "(method: stratified); also the class column of `balance`.",
    )
    timestamp_field: str | None = Field(
        None,
        description="Column with the time of each row (method: temporal). Epoch seconds or "
        "milliseconds, ISO 8601, `M/D/YY H:MM`, `YYYY-MM-DD`, RFC 2822 are understood.",
    )
    group_by: str | None = Field(
        None,
        description="Column whose rows must stay together (method: grouped), e.g. a user or "
        "a source document.",
    )
    check_leakage: bool = Field(
        True, description="After splitting, check that no duplicate pair crosses splits."
    )
    memory_limit: str = Field(
        "128MB",
        pattern=r"^\d+(\.\d+)? ?([KMGT]i?B|B)$",
        description="Memory DuckDB may use in split assignment before spilling to disk "
        "(capped like dedup.memory_limit under a process memory limit).",
    )

    @model_validator(mode="after")
    def _fields(self) -> SplitConfig:
        if self.validation + self.test >= 1:
            raise ValueError(
                f"validation + test must be below 1 (got {self.validation} + {self.test})"
            )
        need = {"stratified": "stratify_by", "temporal": "timestamp_field", "grouped": "group_by"}
        key = need.get(self.method)
        if key and not getattr(self, key):
            raise ValueError(f"method {self.method!r} needs `{key}` (the column to use)")
        return self


class BalanceConfig(Section):
    enabled: bool = Field(False, description="Rebalance classes of `split.stratify_by`.")
    mode: Literal["cap", "upsample"] = Field(
        "cap",
        description="cap: keep fewer rows of over-represented classes; upsample: repeat rows "
        "of under-represented classes.",
    )
    target: dict[str, float] | None = Field(
        None,
        description="Target share per class (normalized; classes not named get 0). "
        "Empty: uniform over the classes present.",
    )
    max_upsample: float = Field(
        10.0, ge=1, description="upsample: a class is repeated at most this many times."
    )
    splits: list[str] = Field(
        default_factory=lambda: ["train"], description="Which splits are rebalanced."
    )


class PackingConfig(Section):
    enabled: bool = Field(
        False, description="Pack tokenized rows into sequences of model.max_length."
    )
    max_length: int | None = Field(
        None, gt=0, description="Packed sequence length; empty: model.max_length."
    )
