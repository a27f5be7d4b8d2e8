"""Reading a captcha: lattice decoding over glyph candidates and the classical reader."""

from captcha_solver.recognition._decode import Reading, best_path, forced_alignment
from captcha_solver.recognition._reader import DecodeParams, GlyphReader, lattice_proba, restrict_proba

__all__ = [
    "DecodeParams",
    "GlyphReader",
    "Reading",
    "best_path",
    "forced_alignment",
    "lattice_proba",
    "restrict_proba",
]
