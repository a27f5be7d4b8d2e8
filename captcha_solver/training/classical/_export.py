"""Export a fitted glyph classifier to ONNX (skl2onnx, or CatBoost's own exporter)."""

from __future__ import annotations

import warnings
from pathlib import Path

__all__ = ["INPUT_NAME", "export_onnx"]

INPUT_NAME = "features"


def export_onnx(estimator, n_features: int, path: str | Path) -> None:
    """Write ``estimator`` as an ONNX graph: float32 (N, n_features) in, probabilities out.

    scikit-learn pipelines go through skl2onnx with the ZipMap operator
    turned off (a plain (N, n_classes) tensor is much faster to read than a
    list of dicts); CatBoost uses its own exporter.
    """
    path = Path(path)
    if type(estimator).__name__ == "CatBoostClassifier":
        estimator.save_model(str(path), format="onnx")
        return
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onx = convert_sklearn(
            estimator,
            initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
            options={id(final): {"zipmap": False}},
        )
    path.write_bytes(onx.SerializeToString())
