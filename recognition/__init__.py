"""Reading a captcha: lattice decoding over glyph candidates and the classical reader."""

from recognition._decode import Reading, best_path, forced_alignment
from recognition._reader import DecodeParams, GlyphReader, ReadResult, lattice_proba, restrict_proba

__all__ = ["DecodeParams", "GlyphReader", "ReadResult", "Reading", "best_path", "forced_alignment", "lattice_proba", "restrict_proba"]
