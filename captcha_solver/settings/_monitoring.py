"""The ``monitoring`` and ``feedback`` sections of the settings schema: drift of live readings, the site's verdicts."""

from __future__ import annotations

from dataclasses import dataclass

from captcha_solver.settings._checks import NonEmpty, Range
from captcha_solver.settings._errors import ConfigError
from captcha_solver.settings._fields import Section, field

__all__ = ["FeedbackConfig", "MonitoringConfig"]


@dataclass(frozen=True)
class MonitoringConfig(Section):
    """The API's drift score: live readings against the validation baseline stored with the model."""

    _section = "monitoring"
    window: int = field(
        500,
        Range(10, 100_000),
        doc="Answers in the sliding window (per model version) whose confidences and lengths are compared "
        "with the model's baseline.",
    )
    min_fill: int = field(
        100,
        Range(1),
        doc="Answers the window needs before a drift score is exported (fewer give a noisy score).",
    )

    def cross_check(self) -> None:
        if self.min_fill > self.window:
            raise ConfigError.invalid(
                "monitoring.min_fill", self.min_fill, f"at most monitoring.window ({self.window})"
            )


@dataclass(frozen=True)
class FeedbackConfig(Section):
    """POST /feedback: whether the site accepted an answer, and (optionally) the captcha kept with its label."""

    _section = "feedback"
    dir: str = field(
        "data/feedback",
        NonEmpty(),
        doc="Folder of feedback.csv and, with keep_images, of labelled/ (captchas named <text>.png, ready for "
        "train) and unlabelled/ (rejected ones without a text).",
    )
    keep_images: bool = field(
        False, doc="Keep each answered captcha in memory until its feedback comes, and then save it."
    )
    max_pending: int = field(
        10_000,
        Range(1, 10_000_000),
        doc="Most answers waiting for feedback; the oldest is forgotten first (its feedback then gets 404).",
    )
    pending_ttl_s: float = field(
        3600.0,
        Range(1.0),
        doc="Seconds an answer waits for its feedback; later feedback gets 404.",
    )
    max_pending_mb: int = field(
        64,
        Range(1),
        doc="Memory the kept captchas may take, in MiB (keep_images); the oldest is dropped first.",
    )
