"""Known models as data (models.yaml, presets.yaml), name resolution and the memory estimator."""

from forge.catalog.lookup import all_models, find, preset, presets, suggestions
from forge.catalog.spec import ModelSpec, count_params

__all__ = ["ModelSpec", "all_models", "count_params", "find", "preset", "presets", "suggestions"]
