"""`tracking:` where training metrics go. metrics.jsonl is always written."""

from __future__ import annotations

from pydantic import Field

from forge.config.base import Section


class TrackingConfig(Section):
    console: bool = Field(True, description="Show progress and metrics in the terminal.")
    tensorboard: bool = Field(
        False, description="Write TensorBoard event files into the run folder."
    )
    mlflow: bool = Field(False, description="Log to MLflow.")
    mlflow_uri: str | None = Field(
        None,
        description="MLflow tracking URI. Empty: a local SQLite store `mlflow.db` beside the runs.",
    )
    mlflow_experiment: str = Field("forge", description="MLflow experiment name.")
    trackers: list[str] = Field(
        default_factory=list,
        description="Extra trackers by registry name (plugins), besides the ones above.",
    )
    plot: bool = Field(True, description="Write loss.png into the run folder at each eval.")
