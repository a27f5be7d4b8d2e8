"""Side bearings as evidence: the table's likelihood of a reading's gaps, and comparing candidates of one length."""

import math

import numpy as np
import pytest

from captcha_solver.fusion import Bearings, relative_spacing
from captcha_solver.fusion._spacing import NO_PATH

#: "l" stands close to its neighbours, "I" far, "o" in between (in line heights).
TABLE = Bearings(
    "Ilo",
    left=(0.13, 0.09, 0.1),
    right=(0.12, 0.1, 0.1),
    var_left=(1e-4, 1e-4, 1e-4),
    var_right=(1e-4, 1e-4, 1e-4),
    n_gaps=500,
)


def _boxes(gaps, height=100.0, width=10.0):
    """Glyph boxes in pixels with the given gaps (line heights) between them."""
    boxes, x = [], 0.0
    for gap in [0.0, *gaps]:
        x += gap * height
        boxes.append((x, x + width))
        x += width
    return boxes


def test_the_gaps_tell_l_from_i():
    # o->? gap 0.19 = right(o) + left(l); ?->o gap 0.20 = right(l) + left(o).
    boxes = _boxes([0.19, 0.20])
    assert TABLE.log_likelihood("olo", boxes, 100.0) > TABLE.log_likelihood("oIo", boxes, 100.0) + 5
    boxes = _boxes([0.23, 0.22])
    assert TABLE.log_likelihood("oIo", boxes, 100.0) > TABLE.log_likelihood("olo", boxes, 100.0) + 5


def test_one_absurd_gap_costs_a_bounded_amount():
    near = TABLE.log_likelihood("ol", _boxes([0.25]), 100.0)
    absurd = TABLE.log_likelihood("ol", _boxes([5.0]), 100.0)
    assert absurd == pytest.approx(near)  # both beyond the clamp of 3 standard deviations
    assert np.isfinite(absurd)


def test_unknown_characters_and_mismatched_boxes():
    assert TABLE.log_likelihood("oxo", _boxes([0.2, 0.2]), 100.0) == -math.inf
    with pytest.raises(ValueError, match="2 glyph boxes for a text of 3"):
        TABLE.log_likelihood("olo", _boxes([0.2]), 100.0)
    assert TABLE.log_likelihood("o", _boxes([]), 100.0) == 0.0


def test_the_table_round_trips_and_a_malformed_one_is_named():
    assert Bearings.from_dict(TABLE.to_dict()) == TABLE
    doc = TABLE.to_dict()
    with pytest.raises(ValueError, match="spacing.left: 2 values for a charset of 3"):
        Bearings.from_dict({**doc, "left": [0.1, 0.1]})
    with pytest.raises(ValueError, match="spacing: malformed table"):
        Bearings.from_dict({k: v for k, v in doc.items() if k != "right"})
    with pytest.raises(ValueError, match="variance must be positive"):
        Bearings.from_dict({**doc, "var_left": [0.0, 1e-4, 1e-4]})
    with pytest.raises(ValueError, match="spacing.right: not every value is a finite number"):
        Bearings.from_dict({**doc, "right": [0.1, float("nan"), 0.1]})


def test_spacing_only_compares_candidates_of_one_length():
    candidates = ["olo", "oIo", "olol", "oo", "ox"]
    spacing = [-1.0, -6.0, -30.0, -2.0, -math.inf]
    rel = relative_spacing(candidates, spacing)
    # Each length's best gets 0: a longer reading is not punished for its extra gaps.
    assert rel.tolist() == [0.0, -5.0, 0.0, 0.0, NO_PATH]
    assert relative_spacing(["ab"], [-math.inf]).tolist() == [NO_PATH]
    assert relative_spacing([], []).shape == (0,)
