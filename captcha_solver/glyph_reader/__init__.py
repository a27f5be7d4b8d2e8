"""The classical reader: segmentation, HOG features, an ONNX glyph classifier and lattice decoding."""

from captcha_solver.glyph_reader._decode import Reading, best_path, forced_alignment
from captcha_solver.glyph_reader._onnx_classifier import OnnxGlyphClassifier
from captcha_solver.glyph_reader._reader import DecodeParams, GlyphReader, lattice_proba, restrict_proba

__all__ = [
    "DecodeParams",
    "GlyphReader",
    "OnnxGlyphClassifier",
    "Reading",
    "best_path",
    "forced_alignment",
    "lattice_proba",
    "restrict_proba",
]
