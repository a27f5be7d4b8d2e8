"""Glyph classifiers: the candidates we compare, ONNX export and the ONNX runtime wrapper."""

from captcha_solver.classifier._estimators import CANDIDATES, fit_estimator, make_estimator
from captcha_solver.classifier._onnx import OnnxGlyphClassifier, export_onnx

__all__ = ["CANDIDATES", "OnnxGlyphClassifier", "export_onnx", "fit_estimator", "make_estimator"]
