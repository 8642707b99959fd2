"""ForgeConfig: the whole of forge.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from forge.config.base import Section
from forge.config.data import DataConfig, PreprocessingConfig
from forge.config.hardware import HardwareConfig
from forge.config.index import IndexConfig
from forge.config.model import ModelConfig
from forge.config.plan import PlanConfig
from forge.config.tracking import TrackingConfig
from forge.config.training import TrainingConfig

CURRENT_VERSION = 1


class ForgeConfig(Section):
    """forge.yaml: one file that says what to prepare, how to train, and where things go."""

    version: Literal[1] = Field(CURRENT_VERSION, description="Schema version of this file.")
    model: ModelConfig = Field(default_factory=ModelConfig, description="The model.")
    hardware: HardwareConfig = Field(default_factory=HardwareConfig, description="The machine.")
    data: DataConfig = Field(default_factory=DataConfig, description="Raw data sources and output.")
    preprocessing: PreprocessingConfig = Field(
        default_factory=PreprocessingConfig, description="What `forge prepare` does."
    )
    training: TrainingConfig = Field(
        default_factory=TrainingConfig, description="How `forge train` trains."
    )
    tracking: TrackingConfig = Field(
        default_factory=TrackingConfig, description="Where metrics go."
    )
    index: IndexConfig = Field(default_factory=IndexConfig, description="The markdown index.")
    plan: PlanConfig = Field(
        default_factory=PlanConfig, description="What `forge plan` decided, and why."
    )
