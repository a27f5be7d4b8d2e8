"""Which epoch's weights the neural loop keeps: the latest within validation noise of the best."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from captcha_solver.training._noise import error_count, within_noise  # noqa: E402
from captcha_solver.training.neural import NeuralTrainingConfig  # noqa: E402
from captcha_solver.training.neural._loop import _Run  # noqa: E402
from tests.tiny_neural import TINY  # noqa: E402


def _ev(errors: int, n_val: int) -> dict:
    correct = np.array([False] * errors + [True] * (n_val - errors))
    return {"exact": float(correct.mean()), "cer": errors / (5 * n_val), "correct": correct}


def _run() -> _Run:
    return _Run(NeuralTrainingConfig(**{**TINY, "charset": "abc"}), np.random.default_rng(0))


def _kept(errors: list[int], n_val: int) -> tuple[list[bool], _Run]:
    run = _run()
    return [run.record(_ev(e, n_val), loss=1.0, seconds=1.0) for e in errors], run


def test_the_noise_rule():
    assert within_noise(1, 0) and not within_noise(2, 0)  # one captcha apart at least
    assert within_noise(14, 10) and not within_noise(16, 10)  # sqrt(24) = 4.9, sqrt(26) = 5.1
    assert error_count(0.95, 20) == 1 and error_count(float("nan"), 20) == 20


def test_twenty_validation_captchas_keep_the_latest_epoch_one_captcha_from_the_best():
    kept, run = _kept([10, 3, 0, 1, 2, 1, 4], n_val=20)
    # 2 errors against the best's 0 is beyond one captcha (sqrt(2) = 1.4); 1 is within.
    assert kept == [True, True, True, True, False, True, False]
    assert run.state["best_epoch"] == 6
    assert run.state["best_exact"] == 1.0  # the best seen, not the kept one's
    assert run.state["stale"] == 1
    assert [h["val_exact"] for h in run.history] == pytest.approx([0.5, 0.85, 1.0, 0.95, 0.9, 0.95, 0.8])


def test_a_later_epoch_with_fewer_errors_resets_the_bar():
    kept, run = _kept([5, 6, 0, 3, 1], n_val=300)
    # Epoch 2 is within sqrt(11) of epoch 1's 5; once epoch 3 reads all, 3 errors is too many.
    assert kept == [True, True, True, False, True]
    assert run.state["best_epoch"] == 5


def test_the_kept_weights_are_the_kept_epochs():
    run = _run()
    run.record(_ev(0, 20), loss=1.0, seconds=1.0)
    snapshot = {k: v.clone() for k, v in run.judged.state_dict().items()}
    with torch.no_grad():
        for p in run.model.parameters():
            p.add_(1.0)
    assert not run.record(_ev(5, 20), loss=1.0, seconds=1.0)
    for name, value in run.state["best_state"].items():
        assert torch.equal(value, snapshot[name]), name
