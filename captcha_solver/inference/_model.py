"""The loaded model: one object that holds a model folder's readers and reads captchas with them.

Every part of the project that reads (the solver, the CLI, the API, the UI,
evaluation, the training wing's read-back check and fusion fit) builds one
:class:`Model` and calls :meth:`Model.read`; nothing else loads readers.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import numpy as np

from captcha_solver.artifacts import (
    GLYPH_MODEL,
    NEURAL_META,
    NEURAL_MODEL,
    CorruptModelError,
    GlyphSection,
    Labels,
    Manifest,
    has_model,
    load_model_folder,
)
from captcha_solver.glyph_reader import DecodeParams, GlyphReader, OnnxGlyphClassifier
from captcha_solver.image_io import ImageDecodeError, decode_image
from captcha_solver.inference._routing import ReadPolicy, fusion_sample, read_routed
from captcha_solver.neural import NeuralReader
from captcha_solver.read_result import ReadResult, error_row, result_row
from captcha_solver.settings import Config
from features import FeatureParams
from segmentation import SegmentationParams

__all__ = ["Model", "default_model_dir", "shipped_model_dir"]


def shipped_model_dir() -> Path:
    """The model shipped inside the package (``captcha_solver/shipped_model``), as package data."""
    # Installed wheels and checkouts are plain folders, so the resource is a real path.
    return Path(str(resources.files("captcha_solver") / "shipped_model"))


def default_model_dir(config: Config) -> Path:
    """``paths.model_dir`` (``./model``) if it, or its backup ``NAME.prev``, holds a model, else the shipped one."""
    local = Path(config.paths.model_dir)
    if has_model(local):
        return local
    return shipped_model_dir()


def _classical(glyph: GlyphSection | None, path: Path, threads: int) -> GlyphReader:
    if glyph is None:
        raise ValueError(f"{GLYPH_MODEL} is given but the manifest holds no settings of the classical reader")
    classify = OnnxGlyphClassifier(path, list(glyph.class_columns), len(glyph.charset) + 1, threads=threads)
    return GlyphReader(
        classify,
        glyph.charset,
        SegmentationParams(**glyph.segmentation),
        FeatureParams(**glyph.features),
        DecodeParams(**glyph.decoding),
    )


class Model:
    """A model folder loaded for reading: its readers, its manifest and the policy that combines them.

    Build it with :meth:`load` (a published folder) or :meth:`from_files`
    (a model still being trained). ``config`` supplies the reading settings
    (``routing``), the decoding limits (``input``) and the onnxruntime
    threads (``classifier.threads``).

    Attributes
    ----------
    folder : Path or None
        The folder it was loaded from (None for unpublished files).
    manifest : artifacts.Manifest
        The model's checked ``manifest.json``, typed.
    classical : GlyphReader or None
    neural : NeuralReader or None
    policy : ReadPolicy
        The fitted fusion and the label lengths, with ``routing.min_confidence`` applied.
    """

    def __init__(self, manifest: Manifest, classical, neural, config: Config, folder: Path | None = None):
        if classical is None and neural is None:
            raise ValueError("a model needs at least one reader")
        self.manifest = manifest
        self.classical = classical
        self.neural = neural
        self.config = config
        self.folder = folder
        routing = config.routing
        self.policy = ReadPolicy.from_manifest(manifest, routing.min_confidence, routing.spacing_weight)

    @classmethod
    def load(cls, folder: str | Path, config: Config, *, logger=None) -> Model:
        """Load a model folder, checking every artifact's sha256 (falls back to ``NAME.prev``, with a warning).

        Raises
        ------
        artifacts.ModelNotFoundError
            If there is no model in the folder (nor a previous one).
        artifacts.CorruptModelError
            If the manifest or a file is broken (the message says which).
        """
        folder, manifest = load_model_folder(Path(folder), logger=logger)
        return cls.from_files(manifest, {}, config, folder=folder)

    @classmethod
    def from_files(
        cls, manifest: Manifest, files: Mapping[str, Path], config: Config, *, folder: Path | None = None
    ) -> Model:
        """Build the readers a manifest lists from files (``files`` maps artifact names to paths outside ``folder``).

        Raises
        ------
        artifacts.CorruptModelError
            If an ONNX file does not parse, the manifest's settings do not fit the readers or
            its fusion (e.g. the side-bearing table) is malformed.
        """
        base = Path(folder) if folder is not None else Path(".")
        listed = set(manifest.artifacts) | set(files)
        where = {
            name: Path(files.get(name, base / name)) for name in (GLYPH_MODEL, NEURAL_MODEL, NEURAL_META)
        }
        threads = config.classifier.threads
        try:
            classical = (
                _classical(manifest.glyph, where[GLYPH_MODEL], threads) if GLYPH_MODEL in listed else None
            )
            neural = (
                NeuralReader(where[NEURAL_MODEL], where[NEURAL_META], threads=threads)
                if NEURAL_MODEL in listed
                else None
            )
            return cls(manifest, classical, neural, config, folder=folder)
        except (ValueError, TypeError) as exc:  # an ONNX file that does not parse, settings that do not fit
            raise CorruptModelError(base, str(exc)) from exc

    def with_manifest(self, manifest: Manifest) -> Model:
        """The same readers under an updated manifest of the same artifacts (e.g. a refitted fusion)."""
        return Model(manifest, self.classical, self.neural, self.config, folder=self.folder)

    # ---------------------------------------------------------------- facts
    @property
    def readers(self) -> list[str]:
        """The readers of the model: ``"classical"``, ``"neural"`` or both."""
        return [name for name, r in (("classical", self.classical), ("neural", self.neural)) if r is not None]

    @property
    def charset(self) -> str:
        """The characters the model reads (both readers' together)."""
        chars = set(getattr(self.classical, "charset", "")) | set(getattr(self.neural, "charset", ""))
        return "".join(sorted(chars))

    @property
    def labels(self) -> Labels | None:
        """What the training labels were: ``charset`` and ``lengths`` (length -> count); None if not recorded."""
        return self.manifest.labels

    # -------------------------------------------------------------- reading
    def decode(self, image: str | Path | bytes | np.ndarray, *, name: str | None = None) -> np.ndarray:
        """An image as (H, W, 3) uint8 RGB, decoded within the ``input`` limits.

        Raises
        ------
        image_io.ImageDecodeError
            If it cannot be decoded, breaks a limit, or is an array of another shape or type.
        """
        if isinstance(image, np.ndarray):
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise ImageDecodeError(
                    name or "<array>",
                    f"expected a (H, W, 3) uint8 RGB array, got {image.dtype} {image.shape}",
                )
            return image
        return decode_image(image, limits=self.config.input, name=name)  # None: the decoder names it

    def read(self, image: str | Path | bytes | np.ndarray, *, name: str | None = None) -> ReadResult:
        """Read one captcha (a path, encoded bytes or an RGB array) as ``routing`` says.

        Raises
        ------
        image_io.ImageDecodeError
            If the image cannot be decoded (see :meth:`decode`).
        """
        rgb = self.decode(image, name=name)
        return read_routed(self.classical, self.neural, rgb, self.config.routing, self.policy)

    def read_row(self, image: str | Path | bytes | np.ndarray, *, name: str) -> dict:
        """:meth:`read` as a results row (:func:`captcha_solver.read_result.result_row`); bad input is an error row."""
        t0 = time.perf_counter()
        try:
            rgb = self.decode(image, name=name)
            t1 = time.perf_counter()
            result = read_routed(self.classical, self.neural, rgb, self.config.routing, self.policy)
            row = result_row(name, result, timings_ms={"decode": (t1 - t0) * 1e3})
        except (ImageDecodeError, OSError) as exc:
            row = error_row(name, str(exc))
        row["latency_ms"] = (time.perf_counter() - t0) * 1e3
        return row

    def evidence(self, rgb: np.ndarray):
        """Both readers' evidence on one captcha, as :meth:`read` weighs it (see :func:`fusion_sample`).

        Raises
        ------
        ValueError
            If the model lacks one of the two readers.
        """
        if self.classical is None or self.neural is None:
            raise ValueError(
                f"{self.folder or 'this model'}: fusion needs both readers; this model has only one"
            )
        return fusion_sample(self.classical, self.neural, rgb, self.policy)
