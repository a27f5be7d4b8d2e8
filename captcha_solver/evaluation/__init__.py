"""Evaluating a model on a labelled folder: the report ``python model.py evaluate`` prints.

The figures themselves (accuracy, CER, ECE, ROC AUC) are pure functions of
:mod:`captcha_solver.metrics`; this package reads a model's rows and the
glyphs of its classical reader into one report.
"""

from captcha_solver.evaluation._report import evaluation_report, glyph_report, labelled_summary

__all__ = ["evaluation_report", "glyph_report", "labelled_summary"]
