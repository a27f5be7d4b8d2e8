"""The readers a model folder holds, and which of them answers a captcha.

A model folder holds the classical reader (``glyph_classifier.onnx``), the
neural reader (``neural_reader.onnx`` and ``.json``), or both; its manifest
lists them. :func:`read_routed` is the routing rule of ``routing.reader``.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import numpy as np

from captcha_solver.artifacts import GLYPH_MODEL, NEURAL_META, NEURAL_MODEL, has_model
from captcha_solver.common import progress
from captcha_solver.image_io import ImageDecodeError, decode_image, label_from_path
from captcha_solver.reading import ReadResult
from captcha_solver.recognition import DecodeParams, GlyphReader
from captcha_solver.routing import keep_classical, routed_choice
from captcha_solver.settings import Config, RoutingConfig
from features import FeatureParams
from segmentation import SegmentationParams

__all__ = [
    "GLYPH_MODEL",
    "NEURAL_META",
    "NEURAL_MODEL",
    "default_model_dir",
    "read_routed",
    "readers_from",
    "routing_evidence",
    "shipped_model_dir",
]


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


def readers_from(manifest: dict, model_dir: Path, *, threads: int = 0, files: dict[str, Path] | None = None):
    """The classical and neural readers a manifest lists (either may be None).

    Parameters
    ----------
    manifest : dict
        The model's ``manifest.json``.
    model_dir : Path
        Folder of the artifacts.
    threads : int
        onnxruntime threads per reader (0: its default).
    files : dict of str to Path, optional
        Artifact names mapped to paths outside ``model_dir`` (a model being
        trained, not yet published).

    Returns
    -------
    reader : GlyphReader or None
    neural : NeuralReader or None
    """
    files = files or {}
    artifacts = set(manifest.get("artifacts", {})) | set(files)
    where = {
        name: Path(files.get(name, model_dir / name)) for name in (GLYPH_MODEL, NEURAL_MODEL, NEURAL_META)
    }
    reader = neural = None
    if GLYPH_MODEL in artifacts:
        from captcha_solver.classifier import OnnxGlyphClassifier

        charset = manifest["charset"]
        classify = OnnxGlyphClassifier(
            where[GLYPH_MODEL], manifest["class_columns"], len(charset) + 1, threads=threads
        )
        reader = GlyphReader(
            classify,
            charset,
            SegmentationParams(**manifest["segmentation"]),
            FeatureParams(**manifest["features"]),
            DecodeParams(**manifest["decoding"]),
        )
    if NEURAL_MODEL in artifacts:
        from captcha_solver.neural import NeuralReader

        neural = NeuralReader(where[NEURAL_MODEL], where[NEURAL_META], threads=threads)
    return reader, neural


def read_routed(reader, neural, rgb: np.ndarray, route: RoutingConfig, min_confidence: float) -> ReadResult:
    """Read with the classical reader, the neural one, or both, as ``route.reader`` says.

    ``auto`` trusts the classical reading when it is plausible (one
    component per character) and at least ``min_confidence`` sure; otherwise
    the neural reader reads too and the more confident answer wins.
    ``classical`` and ``neural`` fall back to the other reader when the
    model lacks the one asked for.
    """
    allowed = route.allowed_chars or None
    classical = None
    if reader is not None and (route.reader != "neural" or neural is None):
        classical = reader.read(rgb, allowed=allowed, case=route.case)
        if (
            neural is None
            or route.reader == "classical"
            or keep_classical(classical.plausible, classical.confidence, min_confidence)
        ):
            return classical
    answer = neural.read(rgb, topk=route.topk, allowed=allowed, case=route.case)
    if classical is not None and routed_choice(
        classical.plausible, classical.confidence, answer.confidence, min_confidence
    ):
        return classical
    return answer


def routing_evidence(
    reader, neural, paths: Iterable[str | Path], *, config: Config, show: bool = False
) -> dict:
    """Both readers' readings of labelled captchas, as the arrays :func:`routing.pick_min_confidence` takes.

    Unreadable files are left out (they say nothing about the threshold).
    """
    keys = ("classical_correct", "classical_confidence", "plausible", "neural_correct", "neural_confidence")
    out: dict[str, list] = {k: [] for k in keys}
    paths = list(paths)
    for path in progress(paths, total=len(paths), desc="routing", enabled=show):
        try:
            rgb = decode_image(
                path, max_pixels=config.input.max_pixels, max_bytes=config.input.max_bytes, name=str(path)
            )
        except ImageDecodeError:
            continue
        label = label_from_path(path)
        classical = reader.read(rgb)
        reading = neural.read(rgb)
        out["classical_correct"].append(classical.text == label)
        out["classical_confidence"].append(float(classical.confidence))
        out["plausible"].append(classical.plausible)
        out["neural_correct"].append(reading.text == label)
        out["neural_confidence"].append(float(reading.confidence))
    return out
