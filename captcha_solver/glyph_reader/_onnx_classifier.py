"""The glyph classifier at reading time: an ONNX graph on onnxruntime (no scikit-learn)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["OnnxGlyphClassifier"]


class OnnxGlyphClassifier:
    """Glyph probabilities from an ONNX classifier, over every class column.

    Parameters
    ----------
    path : path
        The ONNX file.
    class_columns : list of int
        The class index of each of the model's output columns (a class that
        had no training sample has no column and gets probability 0).
    n_classes : int
        Width of the returned matrix (characters + garbage).
    threads : int
        onnxruntime intra-op threads; 1 keeps one prediction on one core,
        which is what batch prediction across processes wants.

    Raises
    ------
    ValueError
        If onnxruntime cannot load the file (not ONNX, truncated, corrupt).
    """

    def __init__(self, path: str | Path, class_columns: list[int], n_classes: int, threads: int = 1):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime's errors (InvalidProtobuf, Fail, ...) derive from Exception only
            raise ValueError(f"{path} is not a usable ONNX model ({exc})") from exc
        self.input_name = self.session.get_inputs()[0].name
        outputs = [o.name for o in self.session.get_outputs()]
        self.output_name = "probabilities" if "probabilities" in outputs else outputs[-1]
        self.columns = np.asarray(class_columns, dtype=np.int64)
        self.n_classes = n_classes
        self.n_features = self.session.get_inputs()[0].shape[1]

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Probabilities (N, n_classes) of the feature rows ``X`` (N, D)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if isinstance(self.n_features, int) and X.shape[1] != self.n_features:
            raise ValueError(f"X has {X.shape[1]} features, but the classifier expects {self.n_features}")
        raw = self.session.run([self.output_name], {self.input_name: X})[0]
        if isinstance(raw, list):  # ZipMap output (list of {class: prob})
            raw = np.array([[row[k] for k in sorted(row)] for row in raw], dtype=np.float32)
        proba = np.zeros((X.shape[0], self.n_classes), dtype=np.float32)
        proba[:, self.columns] = raw
        return proba
