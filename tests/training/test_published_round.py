"""Which self-training round is published: the latest one unless validation clearly says an earlier one reads better.

With 100 labels the validation set is 20 captchas, and one captcha read otherwise decided between rounds
(a run that would have read 99.5% published the round before, 96.8%).
"""

from __future__ import annotations

import math

import pytest

from captcha_solver.training._self_training import published_round
from tests.scripted_rounds import run_scripted, scripted_files


@pytest.mark.parametrize(
    ("val_exact", "n_val", "chosen"),
    [
        ([1.0, 1.0, 1.0, 1.0], 20, 3),  # a tie: the latest, trained on the most captchas
        ([1.0, 0.95, 1.0, 0.95], 20, 3),  # one captcha of 20 is within the noise
        ([1.0, 1.0, 0.9, 0.9], 20, 1),  # two of 20 more than none: clearly worse
        ([0.85, 0.9, 0.8, 0.85], 20, 3),  # 3 errors against the fewest 2: within sqrt(5)
        ([0.955, 0.95, 0.945], 1000, 2),  # 55 against 45 of 1,000: within sqrt(100)
        ([0.955, 0.95, 0.93], 1000, 1),  # 70 against 45: more than sqrt(115)
        ([1.0, float("nan")], 20, 0),  # a round without a validation figure counts as reading none right
        ([float("nan"), float("nan")], 20, 1),
    ],
)
def test_the_latest_round_within_the_noise_of_the_best_is_published(val_exact, n_val, chosen):
    number, why = published_round(val_exact, n_val)
    assert number == chosen
    errors = [round((1 - v) * n_val) if math.isfinite(v) else n_val for v in val_exact]
    assert f"validation errors by round {errors} of {n_val}" in why


@pytest.mark.parametrize(
    ("round_vals", "chosen"),
    [((1.0, 1.0), 2), ((5 / 6, 5 / 6), 2), ((1.0, 0.0), 1), ((0.0, 0.0), 0)],  # the first model reads all 6
)
def test_self_training_returns_and_records_the_round_it_publishes(tmp_path, monkeypatch, round_vals, chosen):
    published, section, calls = run_scripted(scripted_files(tmp_path), monkeypatch, round_vals=round_vals)
    assert len(section["rounds"]) == len(round_vals) and len(calls) == 1 + len(round_vals)  # + second opinion
    assert section["published_round"] == chosen
    assert published.draft["name"] == ("first" if chosen == 0 else f"round-{chosen}")
    assert "of 6: the latest within the noise of the fewest" in section["published_why"]
