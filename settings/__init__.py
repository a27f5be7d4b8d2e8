"""Project configuration: ``config.yaml`` read into validated, frozen dataclasses."""

from settings._checks import Check, Choice, NonEmpty, Predicate, Range, Subset
from settings._errors import ConfigError
from settings._fields import Section, field
from settings._load import (
    apply_overrides,
    config_from_dict,
    default_config_path,
    load_config,
    parse_config_yaml,
    render_config_yaml,
    save_config,
)
from settings._schema import (
    ClassifierConfig,
    Config,
    FeaturesConfig,
    InputConfig,
    LoggingConfig,
    PathsConfig,
    SegmentationConfig,
    ServingConfig,
    TrackingConfig,
    TrainingConfig,
)

__all__ = [
    "Check",
    "Choice",
    "ClassifierConfig",
    "Config",
    "ConfigError",
    "FeaturesConfig",
    "InputConfig",
    "LoggingConfig",
    "NonEmpty",
    "PathsConfig",
    "Predicate",
    "Range",
    "Section",
    "SegmentationConfig",
    "ServingConfig",
    "Subset",
    "TrackingConfig",
    "TrainingConfig",
    "apply_overrides",
    "config_from_dict",
    "default_config_path",
    "field",
    "load_config",
    "parse_config_yaml",
    "render_config_yaml",
    "save_config",
]
