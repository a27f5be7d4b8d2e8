"""Self-training's second opinion: a second labelled-only model whose reading a pseudo-label must share.

The models here are scripted readers (:mod:`tests.scripted_rounds`), so that a consistent confusion of the
first model (``u0`` read ``aa21``) can be planted and the rule checked exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import captcha_solver.training._plan as _plan
import captcha_solver.training._self_training as st
from tests.scripted_rounds import CONFUSED, POOL_TRUTH, run_scripted, scripted_files
from tests.split_captchas import labelled_and_unlabelled


@pytest.fixture
def files(tmp_path):
    return scripted_files(tmp_path)


def _run(files, monkeypatch, **kwargs):
    return run_scripted(files, monkeypatch, **kwargs)[1:]


def _kept_texts(calls) -> set[str]:
    """The pseudo-labels the (only) self-training round trained on."""
    return {Path(p).stem for p in calls[-1]["paths"] if p != "x.png"}


def test_a_reading_the_second_opinion_does_not_share_is_not_a_pseudo_label(files, monkeypatch):
    section, calls = _run(files, monkeypatch)
    second, round_one = calls
    # The second opinion trains on the labelled captchas alone, from scratch, with the next seed and half the
    # first training's epochs, in about half its time (with slack).
    assert second["paths"] == ["x.png"] and second["init_from"] is None
    assert second["training.seed"] == 1 and second["neural.epochs"] == 375
    assert second["share"] == pytest.approx(st.SECOND_SLACK * st.SECOND_EPOCHS * 60 / 10_000)
    assert section["second_opinion"] == {
        "trained": True, "seed": 1, "epochs": 375, "seconds": 60.0, "val_exact": 1.0
    }  # fmt: skip
    (record,) = section["rounds"]
    assert record["second_opinion_disagrees"] == 1 and record["kept"] == 5
    assert _kept_texts(calls) == set(POOL_TRUTH[1:])  # u0's confusion is never taught back
    assert "training.seed" not in round_one


@pytest.mark.parametrize(
    ("settings", "left", "why"),
    [
        ({"training.second_opinion": False}, 10_000.0, "training.second_opinion is false"),
        ({}, 200.0, "the budget"),
    ],
)
def test_without_a_second_opinion_the_first_models_readings_are_kept(files, monkeypatch, settings, left, why):
    section, calls = _run(files, monkeypatch, left=left, **settings)
    assert ["training.seed" in c for c in calls] == [False]  # no second model trained
    assert section["second_opinion"]["trained"] is False and why in section["second_opinion"]["why"]
    (record,) = section["rounds"]
    assert record["second_opinion_disagrees"] == 0 and record["kept"] == 6
    assert CONFUSED in _kept_texts(calls)


def test_rounds_that_fill_the_budget_get_no_second_opinion(files, monkeypatch):
    # 6 unlabelled + a labelled set that makes LARGE_SET captchas: the rounds are large and take the time.
    monkeypatch.setattr(_plan, "LARGE_SET", 7)
    section, calls = _run(files, monkeypatch)
    assert ["training.seed" in c for c in calls] == [False]
    assert "rounds of 7 captchas fill the budget" in section["second_opinion"]["why"]
    (record,) = section["rounds"]
    assert record["kept"] == 6 and CONFUSED in _kept_texts(calls)


def test_a_model_without_a_neural_reader_gets_no_second_opinion(files, monkeypatch):
    section, calls = _run(files, monkeypatch, neural=False)
    assert ["training.seed" in c for c in calls] == [False]
    assert "no neural reader" in section["second_opinion"]["why"]


def test_a_real_neural_run_trains_its_second_opinion_with_the_next_seed_and_half_the_epochs(
    captcha_dir, tmp_path
):
    pytest.importorskip("torch", reason="training the neural reader needs torch (the 'train' extra)")
    from captcha_solver.artifacts import load_manifest
    from captcha_solver.solver import My_CaptchaSolver_Model

    labelled, unlabelled, _ = labelled_and_unlabelled(captcha_dir, tmp_path, 60, 40)
    log = tmp_path / "log_file.log"
    solver = My_CaptchaSolver_Model(
        model_dir=tmp_path / "model",
        overrides={
            "training.reader": "neural",
            "training.seed": 3,
            "training.self_training_rounds": 1,
            "neural.epochs": 4,
            "neural.channels": "8,16,16,24",
            "neural.splice": 0.0,
            "paths.log_file": str(log),
            "tracking.wandb_mode": "disabled",
            "registry.register_on_train": False,
            "logging.console": False,
        },
        results_csv=tmp_path / "results.csv",
    )
    solver.train(labelled, progress=False, unlabelled=unlabelled)
    section = load_manifest(tmp_path / "model").self_training
    opinion = section.extra["second_opinion"]
    assert opinion["trained"] is True and opinion["seed"] == 4 and opinion["epochs"] == 2
    assert opinion["seconds"] > 0 and 0 <= opinion["val_exact"] <= 1
    text = log.read_text()
    assert "second opinion trained on the 48 labelled captchas with training seed 4, 2 epochs" in text
    for record in section.rounds:
        assert 0 <= record["second_opinion_disagrees"] <= record["read"] - record["kept"]
