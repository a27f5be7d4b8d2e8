"""Which reader answers a captcha, and the confidence threshold that decides it.

``auto`` routing keeps the classical reading when it is plausible (one
component per character) and at least ``min_confidence`` sure; otherwise the
neural reader reads too and the more confident answer wins. The threshold
is picked on validation data at training time (:func:`pick_min_confidence`)
and recorded in the model's manifest.
"""

from captcha_solver.routing._threshold import (
    DEFAULT_MIN_CONFIDENCE,
    keep_classical,
    pick_min_confidence,
    routed_choice,
)

__all__ = ["DEFAULT_MIN_CONFIDENCE", "keep_classical", "pick_min_confidence", "routed_choice"]
