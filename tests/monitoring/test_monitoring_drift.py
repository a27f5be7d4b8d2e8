"""The drift arithmetic: baseline bins and (de)serialisation, PSI, the drift score, the sliding window."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from captcha_solver.monitoring import (
    CONFIDENCE_EDGES,
    DRIFT_ALERT,
    LENGTH_EDGES,
    Baseline,
    SlidingWindow,
    baseline_from,
    drift_score,
    histograms,
    psi,
)


def _seed_like(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Readings of a model's own style: confidences near 1, lengths 3 to 6."""
    return 1.0 - rng.beta(1, 60, n), rng.integers(3, 7, n)


def test_histograms_put_edges_in_the_bin_they_start_and_1_in_the_last():
    conf, length = histograms([0.0, 0.2, 0.999, 1.0], [0, 3, 12, 40])
    assert conf[0] == 1 and conf[1] == 1 and conf[-1] == 2 and conf.sum() == 4
    assert length[0] == 1 and length[3] == 1 and length[-1] == 2  # 12 and longer share the last bin
    assert len(conf) == len(CONFIDENCE_EDGES) - 1 and len(length) == len(LENGTH_EDGES) - 1


def test_baseline_round_trips_through_json_and_refuses_broken_dicts():
    import json

    base = baseline_from([0.99, 0.5, 1.0], [4, 5, 5])
    assert base.n == 3
    again = Baseline.from_dict(json.loads(json.dumps(base.to_dict())))
    assert again == base
    broken = dict(base.to_dict(), confidence_counts=[1, 2])
    with pytest.raises(ValueError, match="confidence_counts"):
        Baseline.from_dict(broken)
    with pytest.raises(ValueError, match="length_edges"):
        Baseline.from_dict({k: v for k, v in base.to_dict().items() if k != "length_edges"})
    with pytest.raises(ValueError, match="different numbers"):
        Baseline.from_dict(dict(base.to_dict(), length_counts=[0] * 11 + [7]))
    with pytest.raises(ValueError, match="one confidence and one length"):
        baseline_from([], [])
    with pytest.raises(ValueError, match="finite"):
        baseline_from([float("nan")], [3])


def test_psi_is_zero_for_equal_shares_symmetric_finite_and_grows_with_the_shift():
    assert psi([10, 20, 70], [10, 20, 70]) == pytest.approx(0.0, abs=1e-12)
    # Equal shares of samples of other sizes: only the half counts of the floor differ.
    assert psi([100, 200, 700], [10, 20, 70]) < 0.01
    a, b = [50, 30, 20, 0], [20, 30, 40, 10]
    assert psi(a, b) == pytest.approx(psi(b, a))
    assert np.isfinite(psi([100, 0], [0, 100]))  # empty bins are floored, not ln(0)
    shifts = [psi([80, 15, 5], [80 - d, 15, 5 + d]) for d in (0, 10, 30, 60)]
    assert shifts == sorted(shifts) and shifts[0] < 1e-12 < shifts[1]
    with pytest.raises(ValueError, match="same bins"):
        psi([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="at least one count"):
        psi([0, 0], [1, 1])


def test_drift_score_is_small_for_the_same_style_and_large_for_another():
    rng = np.random.default_rng(0)
    base = baseline_from(*_seed_like(rng, 1000))
    same = drift_score(base, *_seed_like(rng, 500))
    assert same < 0.1
    # Another style: less sure readings, or the same confidence with glyphs merged (shorter texts).
    unsure = drift_score(base, rng.uniform(0.3, 1.0, 500), rng.integers(3, 7, 500))
    merged = drift_score(base, _seed_like(rng, 500)[0], rng.integers(1, 4, 500))
    assert unsure > DRIFT_ALERT and merged > DRIFT_ALERT  # the larger PSI: one signal is enough


def test_sliding_window_keeps_the_last_answers_and_waits_for_min_fill():
    rng = np.random.default_rng(1)
    base = baseline_from(*_seed_like(rng, 1000))
    window = SlidingWindow(base, size=100, min_fill=50)
    for c, n in zip(*_seed_like(rng, 49)):
        window.add(c, n)
    assert window.drift() is None and len(window) == 49
    window.add(0.99, 4)
    assert window.drift() is not None and window.drift() < DRIFT_ALERT
    for _ in range(100):  # a new style fills the whole window: the old answers are gone
        window.add(0.4, 2)
    assert len(window) == 100 and window.drift() > DRIFT_ALERT
    conf, length = window.histograms()
    assert conf.sum() == 100 and length[2] == 100
    with pytest.raises(ValueError, match="min_fill"):
        SlidingWindow(base, size=10, min_fill=11)


def test_sliding_window_is_thread_safe():
    base = baseline_from([0.99] * 1000, [4] * 1000)
    window = SlidingWindow(base, size=5000, min_fill=1)
    window.add(0.99, 4)
    scores = []

    def add():
        for _ in range(1000):
            window.add(0.99, 4)

    def read():
        for _ in range(50):
            scores.append(window.drift())

    threads = [threading.Thread(target=add) for _ in range(4)] + [threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(window) == 4001 and len(scores) == 50
    # Every score saw whole answers: one bin of each histogram, a score of equal shares.
    assert all(s is not None and s < 0.01 for s in scores)
    assert window.drift() == pytest.approx(drift_score(base, [0.99] * 4001, [4] * 4001))
