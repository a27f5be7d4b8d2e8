"""Whether two validation error counts differ by more than chance: the one rule for choosing a trained reader.

Both choices a training run makes among readers it trained (which epoch's weights the neural loop keeps,
which self-training round is published) take the latest candidate whose validation errors are within this
noise of the fewest, so that a small validation set does not trade later, better-trained weights for one
captcha's luck.
"""

from __future__ import annotations

import math

__all__ = ["error_count", "within_noise"]


def error_count(exact: float, n_val: int) -> int:
    """Captchas read wrong out of ``n_val`` at exact accuracy ``exact``; a missing (NaN) figure is all wrong."""
    return round((1 - exact) * n_val) if math.isfinite(exact) else n_val


def within_noise(errors: int, fewest: int) -> bool:
    """True when ``errors`` exceeds ``fewest`` by no more than one captcha, or the square root of both counts.

    Two readers scored on the same captchas differ by about the square root of the captchas that either gets
    wrong when their mistakes are apart; one captcha is the least difference that could be told from chance.
    """
    return errors - fewest <= max(1.0, math.sqrt(errors + fewest))
