"""Project configuration: ``config.yaml`` read into validated, frozen dataclasses."""

from captcha_solver.settings._checks import Check, Choice, NonEmpty, Predicate, Range, Subset
from captcha_solver.settings._errors import ConfigError
from captcha_solver.settings._fields import Section, field
from captcha_solver.settings._load import (
    CONFIG_ENV,
    apply_overrides,
    config_from_dict,
    config_path,
    load_config,
    parse_config_yaml,
    render_config_yaml,
    resolve_config,
    save_config,
)
from captcha_solver.settings._schema import (
    ClassifierConfig,
    Config,
    FeaturesConfig,
    InputConfig,
    LoggingConfig,
    NeuralSettings,
    PathsConfig,
    RoutingConfig,
    SegmentationConfig,
    ServingConfig,
    TrackingConfig,
    TrainingConfig,
)

__all__ = [
    "CONFIG_ENV",
    "Check",
    "Choice",
    "ClassifierConfig",
    "Config",
    "ConfigError",
    "FeaturesConfig",
    "InputConfig",
    "NeuralSettings",
    "RoutingConfig",
    "ServingConfig",
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
    "config_path",
    "field",
    "load_config",
    "parse_config_yaml",
    "render_config_yaml",
    "resolve_config",
    "save_config",
]
