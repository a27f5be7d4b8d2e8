"""The routing rule and the threshold picked on validation readings."""

import numpy as np
import pytest

from captcha_solver.routing import keep_classical, pick_min_confidence, routed_choice


def test_keep_classical_needs_plausible_and_confident():
    assert keep_classical(True, 0.95, 0.9)
    assert not keep_classical(True, 0.85, 0.9)
    assert not keep_classical(False, 0.99, 0.9)
    np.testing.assert_array_equal(
        keep_classical([True, True, False], [0.5, 0.95, 1.0], 0.9), [False, True, False]
    )


def test_routed_choice_lets_the_more_confident_reader_win():
    # Below the bar the neural reader is asked; the classical reading still
    # wins when it is the more confident of the two.
    assert routed_choice(True, 0.8, 0.5, 0.9)
    assert not routed_choice(True, 0.8, 0.95, 0.9)
    assert routed_choice(True, 0.95, 0.99, 0.9)  # kept without asking


def _readings():
    # Classical readings are right exactly when their confidence is >= 0.8;
    # the neural reader is right on every captcha, 0.77 sure.
    conf = np.array([0.99, 0.97, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.5])
    return dict(
        classical_correct=conf >= 0.8,
        classical_confidence=conf,
        plausible=np.ones(10, bool),
        neural_correct=np.ones(10, bool),
        neural_confidence=np.full(10, 0.77),
    )


def test_picked_threshold_routes_the_doubtful_readings_to_the_neural_reader():
    picked = pick_min_confidence(**_readings())
    # A threshold at or below 0.75 keeps the wrong 0.75 reading unasked; any
    # higher one asks the neural reader, which beats the wrong readings
    # (0.77 > 0.75) and loses to the right ones (0.8 and up).
    assert picked["val_exact"] == 1.0
    assert picked["min_confidence"] > 0.75
    lo_share = (np.array(_readings()["classical_confidence"]) < picked["min_confidence"]).mean()
    assert picked["neural_share"] == pytest.approx(lo_share)
    assert picked["val_exact_classical"] == 0.6 and picked["val_exact_neural"] == 1.0
    assert picked["n"] == 10
    lo, hi = picked["best_range"]
    assert lo <= picked["min_confidence"] <= hi


def test_the_middle_of_a_wide_plateau_is_picked():
    # Both readers always right: every threshold is as good; the middle of the grid wins.
    n = 20
    picked = pick_min_confidence(
        np.ones(n, bool),
        np.full(n, 0.99),
        np.ones(n, bool),
        np.ones(n, bool),
        np.full(n, 0.9),
        grid=[0.5, 0.6, 0.7, 0.8, 0.9],
    )
    assert picked["min_confidence"] == 0.7 and picked["best_range"] == [0.5, 0.9]


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="one length"):
        pick_min_confidence([True], [0.5, 0.6], [True], [True], [0.5])
    with pytest.raises(ValueError, match="non-empty"):
        pick_min_confidence([], [], [], [], [])
