"""The configuration schema: one frozen dataclass per section of ``config.yaml``.

To add a key, add one line to its section::

    new_key: int = field(3, Range(1, 10), doc="What it does.")

then add it (with the same default) to ``config.yaml`` (``save_config(Config(),
"config.yaml")`` regenerates the file with comments). To add a section, write a
``Section`` subclass and add one line to :class:`Config`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from captcha_solver.settings._checks import Choice, NonEmpty, Predicate, Range, Subset
from captcha_solver.settings._errors import ConfigError
from captcha_solver.settings._fields import Section, field
from captcha_solver.settings._monitoring import FeedbackConfig, MonitoringConfig
from captcha_solver.settings._neural import NeuralSettings
from captcha_solver.settings._registry import RegistryConfig
from captcha_solver.settings._training import TrainingConfig
from captcha_solver.settings._ui import UiConfig

__all__ = [
    "ClassifierConfig",
    "NeuralSettings",
    "RoutingConfig",
    "DecodingConfig",
    "Config",
    "FeedbackConfig",
    "FeaturesConfig",
    "InputConfig",
    "LoggingConfig",
    "MonitoringConfig",
    "PathsConfig",
    "RegistryConfig",
    "SegmentationConfig",
    "ServingConfig",
    "TrackingConfig",
    "TrainingConfig",
    "UiConfig",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


@dataclass(frozen=True)
class PathsConfig(Section):
    """Where the model and the run records live (relative to the working directory)."""

    _section = "paths"
    model_dir: str = field("model", NonEmpty(), doc="Folder of the trained model (ONNX files and manifest).")
    results_csv: str = field("data/results.csv", NonEmpty(), doc="CSV that every prediction is appended to.")
    log_file: str = field("data/log_file.log", NonEmpty(), doc="Log file of the captcha_solver logger.")


@dataclass(frozen=True)
class InputConfig(Section):
    """Limits on input images, checked before any pixel is decoded."""

    _section = "input"
    max_pixels: int = field(
        4_000_000,
        Range(64),
        doc="Largest image (width x height) that is decoded; checked from the header. Captchas are rarely over 1 Mpx.",
    )
    max_bytes: int = field(52_428_800, Range(1), doc="Largest image file, in bytes.")
    extensions: tuple[str, ...] = field(
        IMAGE_EXTENSIONS,
        Predicate(
            lambda v: len(v) > 0 and all(e.startswith(".") and e == e.lower() and len(e) > 1 for e in v),
            "at least one lower-case extension, each starting with '.'",
        ),
        doc="File extensions read from a dataset folder; other files are reported as rejected.",
    )
    follow_symlinks: bool = field(
        False,
        doc="Read symbolic links in a dataset folder that point outside it; when false they are reported and skipped.",
    )


@dataclass(frozen=True)
class SegmentationConfig(Section):
    """Splitting a captcha into one image per glyph."""

    _section = "segmentation"
    threshold_ratio: float = field(
        0.6, Range(0, 1, inclusive=False), doc="Binarisation threshold as a fraction of the ink contrast."
    )
    min_component_area: int = field(
        30, Range(1), doc="Connected components smaller than this (pixels) are noise."
    )
    max_glyphs: int = field(12, Range(1, 64), doc="Most glyphs a captcha may be split into.")
    dot_max_area_ratio: float = field(
        0.25, Range(0, 1), doc="A component at most this fraction of the median glyph area is a dot (i, j)."
    )
    min_area_ratio: float = field(
        0.03, Range(0, 1), doc="Components smaller than this fraction of the largest one are noise."
    )
    cut_min_width_ratio: float = field(
        0.45,
        Range(0, 10, inclusive=False),
        doc="Components wider than this many line heights get cut candidates.",
    )
    min_piece_ratio: float = field(
        0.12, Range(0, 1, inclusive=False), doc="Narrowest piece a cut may leave, in line heights."
    )
    max_cuts: int = field(2, Range(0, 8), doc="Most cut candidates per component.")
    cut_max_depth_ratio: float = field(
        0.6,
        Range(0, 1),
        doc="A column-profile valley is a cut candidate below this fraction of the profile's peak.",
    )
    max_span: int = field(3, Range(1, 8), doc="Most consecutive pieces that may form one glyph.")
    max_glyph_width_ratio: float = field(
        1.4,
        Range(0, 10, inclusive=False),
        doc="Widest glyph candidate made of several pieces, in line heights.",
    )


@dataclass(frozen=True)
class FeaturesConfig(Section):
    """Glyph normalisation and HOG descriptor."""

    _section = "features"
    glyph_size: int = field(
        32,
        Range(16, 128),
        doc="Side of the square glyph image, in pixels; a multiple of hog_pixels_per_cell.",
    )
    hog_orientations: int = field(9, Range(4, 18), doc="HOG orientation bins.")
    hog_pixels_per_cell: int = field(8, Range(2, 32), doc="HOG cell side, in pixels.")
    hog_cells_per_block: int = field(2, Range(1, 8), doc="HOG block side, in cells.")
    halo_px: int = field(2, Range(0, 16), doc="Pixels of blur halo kept around a glyph's mask.")

    def cross_check(self) -> None:
        if self.glyph_size % self.hog_pixels_per_cell:
            raise ConfigError.invalid(
                "features.glyph_size",
                self.glyph_size,
                f"a multiple of features.hog_pixels_per_cell ({self.hog_pixels_per_cell})",
            )
        cells = self.glyph_size // self.hog_pixels_per_cell
        if self.hog_cells_per_block > cells:
            raise ConfigError.invalid(
                "features.hog_cells_per_block",
                self.hog_cells_per_block,
                f"at most the {cells} cells that fit in glyph_size / hog_pixels_per_cell "
                f"({self.glyph_size} / {self.hog_pixels_per_cell})",
            )


@dataclass(frozen=True)
class ClassifierConfig(Section):
    """Candidate classifiers and their hyper-parameters."""

    _section = "classifier"
    candidates: tuple[str, ...] = field(
        ("logreg", "svm"),
        Subset("logreg", "svm", "catboost"),
        doc="Classifiers trained and compared; the best on validation is kept.",
    )
    svm_c: float = field(10.0, Range(0, None, inclusive=False), doc="SVM regularisation C.")
    logreg_c: float = field(
        1.0, Range(0, None, inclusive=False), doc="Logistic regression inverse regularisation C."
    )
    catboost_iterations: int = field(150, Range(10, 20000), doc="CatBoost boosting iterations.")
    catboost_depth: int = field(5, Range(1, 10), doc="CatBoost tree depth.")
    svm_max_rows: int = field(
        20000,
        Range(100),
        doc="The SVM trains on at most this many glyph samples (its cost grows with their square).",
    )
    catboost_max_rows: int = field(
        6000,
        Range(100),
        doc="CatBoost trains on at most this many glyph samples (63-class boosting is slow).",
    )
    geometry_weight: float = field(
        4.0,
        Range(0, None, inclusive=False),
        doc="Weight of the size/place/stroke/spacing cues against HOG (logreg, svm).",
    )
    select_by: str = field(
        "val_exact", Choice("val_exact", "val_char"), doc="Validation metric picking the best candidate."
    )
    threads: int = field(
        1, Range(1, 64), doc="onnxruntime threads per prediction (batch runs use processes)."
    )


@dataclass(frozen=True)
class DecodingConfig(Section):
    """Choosing the reading among glyph candidates."""

    _section = "decoding"
    skip_penalty: float = field(
        4.0, Range(0, None), doc="Cost (nats) of dropping a component as noise instead of reading it."
    )
    fast_accept: float = field(
        0.9,
        Range(0, 1),
        doc="Components all this confident are read as they are; otherwise every split and merge is scored (1 = always).",
    )


@dataclass(frozen=True)
class TrackingConfig(Section):
    """Experiment tracking (Weights & Biases)."""

    _section = "tracking"
    wandb_mode: str = field("offline", Choice("offline", "online", "disabled"), doc="wandb mode.")
    project: str = field("captcha-solver", NonEmpty(), doc="wandb project name.")


@dataclass(frozen=True)
class LoggingConfig(Section):
    """The captcha_solver logger."""

    _section = "logging"
    level: str = field(
        "INFO", Choice("DEBUG", "INFO", "WARNING", "ERROR"), doc="Lowest level that is logged."
    )
    console: bool = field(True, doc="Also log to stderr.")


@dataclass(frozen=True)
class RoutingConfig(Section):
    """Which reader answers: the classical pipeline, the neural one, or the better of both."""

    _section = "routing"
    reader: str = field(
        "auto",
        Choice("auto", "classical", "neural"),
        doc="auto: classical when its reading is plausible and confident, else the neural reader (if the model has one).",
    )
    min_confidence: float = field(
        -1.0,
        Range(-1, 1),
        doc="auto: a classical reading less confident than this is checked by the neural reader; "
        "-1 = the threshold the model picked on its validation data (manifest), 0.9 if it has none.",
    )
    spacing_weight: float = field(
        0.25,
        Range(0, 10),
        doc="auto, fused readings: weight of the glyphs' spacing (the model's side bearings) between "
        "readings of the same length; 0 = not used. 0.25 was chosen on a held-out seed-style set.",
    )
    topk: int = field(0, Range(0, 20), doc="Alternative readings returned by the neural reader (0 = none).")
    allowed_chars: str = field(
        "", doc="Characters a reading may use (e.g. 0123456789); empty = the model's whole charset."
    )
    case: str = field(
        "sensitive",
        Choice("sensitive", "lower", "upper"),
        doc="lower/upper: merge each letter's two cases into that form (for sites that ignore case).",
    )


@dataclass(frozen=True)
class ServingConfig(Section):
    """The HTTP API and the web UI (python model.py serve / ui)."""

    _section = "serving"
    host: str = field(
        "127.0.0.1", NonEmpty(), doc="Address the API and UI listen on (0.0.0.0 in a container)."
    )
    port: int = field(8000, Range(1, 65535), doc="Port of the HTTP API.")
    ui_port: int = field(7860, Range(1, 65535), doc="Port of the web UI.")
    workers: int = field(1, Range(1, 64), doc="API worker processes (uvicorn --workers).")
    max_upload_bytes: int = field(2_097_152, Range(1), doc="Largest uploaded image, in bytes (413 above it).")
    max_batch: int = field(32, Range(1, 1024), doc="Most images in one /predict/batch request.")
    max_batch_bytes: int = field(
        16_777_216,
        Range(1024),
        doc="Largest /predict/batch request body, in bytes (413 above it, from Content-Length or while it streams).",
    )
    decode_memory_mb: int = field(
        192,
        Range(1),
        doc="Memory that decoding and reading images may take at once, in MiB; an image reserves its share "
        "(from its header) before it is decoded and waits while the budget is full.",
    )
    body_memory_mb: int = field(
        64,
        Range(1),
        doc="Memory that buffering and parsing /predict request bodies may take at once, in MiB; a body "
        "reserves its share (from Content-Length) before it is read.",
    )
    api_key_env: str = field(
        "CAPTCHA_API_KEY",
        NonEmpty(),
        doc="Environment variable holding the API key. "
        "CAPTCHA_API_KEY unset or empty: no key needed (a warning says so); any other variable must hold the key, "
        "or the API refuses to start.",
    )
    admin_token_env: str = field(
        "CAPTCHA_ADMIN_TOKEN",
        NonEmpty(),
        doc="Environment variable holding the UI admin token for saving settings.",
    )


def _section(cls):
    return dataclasses.field(default_factory=cls)


@dataclass(frozen=True)
class Config:
    """The whole configuration: one attribute per section of ``config.yaml``.

    Build it with :func:`settings.load_config`; ``Config()`` holds the defaults.

    Examples
    --------
    >>> Config().segmentation.threshold_ratio
    0.6
    """

    paths: PathsConfig = _section(PathsConfig)
    input: InputConfig = _section(InputConfig)
    segmentation: SegmentationConfig = _section(SegmentationConfig)
    features: FeaturesConfig = _section(FeaturesConfig)
    classifier: ClassifierConfig = _section(ClassifierConfig)
    decoding: DecodingConfig = _section(DecodingConfig)
    training: TrainingConfig = _section(TrainingConfig)
    tracking: TrackingConfig = _section(TrackingConfig)
    logging: LoggingConfig = _section(LoggingConfig)
    routing: RoutingConfig = _section(RoutingConfig)
    neural: NeuralSettings = _section(NeuralSettings)
    serving: ServingConfig = _section(ServingConfig)
    registry: RegistryConfig = _section(RegistryConfig)
    monitoring: MonitoringConfig = _section(MonitoringConfig)
    feedback: FeedbackConfig = _section(FeedbackConfig)
    ui: UiConfig = _section(UiConfig)

    @classmethod
    def sections(cls) -> dict[str, type[Section]]:
        """Section name -> section class, in file order."""
        return {f.name: f.default_factory for f in dataclasses.fields(cls)}

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dict (lists, not tuples), e.g. for a model manifest or YAML."""
        return {name: getattr(self, name).to_dict() for name in self.sections()}

    def get(self, dotted_key: str):
        """Value of ``"section.key"``.

        Raises
        ------
        ConfigError
            If the key does not exist.
        """
        section, _, key = dotted_key.partition(".")
        sections = self.sections()
        if section not in sections or key not in sections[section].keys():
            raise ConfigError(
                f"unknown key '{dotted_key}'; known sections: {', '.join(sections)}", key=dotted_key
            )
        return getattr(getattr(self, section), key)
