"""forge.yaml: schema, loading with precise errors, overrides, migration."""

from forge.config.loader import apply_overrides, dump_config, load_config, save_config, validate
from forge.config.migrate import migrate
from forge.config.schema import CURRENT_VERSION, ForgeConfig

__all__ = [
    "CURRENT_VERSION",
    "ForgeConfig",
    "apply_overrides",
    "dump_config",
    "load_config",
    "migrate",
    "save_config",
    "validate",
]
