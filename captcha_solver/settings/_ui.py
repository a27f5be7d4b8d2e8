"""The ``ui`` section of the settings schema: the web UI's examples, batch limits and records pages."""

from __future__ import annotations

from dataclasses import dataclass

from captcha_solver.settings._checks import Range
from captcha_solver.settings._fields import Section, field

__all__ = ["UiConfig"]


@dataclass(frozen=True)
class UiConfig(Section):
    """The web UI (python model.py ui): example captchas, the batch tab's limits, the records pages."""

    _section = "ui"
    examples: int = field(
        6,
        Range(0, 32),
        doc="Example captchas the generator makes at start-up for the predict page (0 = none).",
    )
    examples_seed: int = field(
        0, Range(0), doc="Seed of the example captchas (the same seed, the same ones)."
    )
    batch_max_files: int = field(
        100, Range(1, 10_000), doc="Most images one batch reads (uploaded files and zip members together)."
    )
    batch_max_file_bytes: int = field(
        2_097_152, Range(1), doc="Largest file or zip member (uncompressed) a batch reads, in bytes."
    )
    batch_max_total_bytes: int = field(
        67_108_864, Range(1), doc="Most bytes (uncompressed) one batch reads in all, in bytes."
    )
    records_rows: int = field(
        300,
        Range(1, 100_000),
        doc="Most log records, results rows or kept captchas a records page shows (downloads hold every match).",
    )
