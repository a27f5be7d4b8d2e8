"""The one progress display of a training run."""

import io
import logging

from captcha_solver.common import LOGGER_NAME, RunProgress


def test_status_names_phase_best_and_budget():
    with RunProgress(600, enabled=False) as run:
        run.phase("neural", "epoch 3/30")
        run.best("neural val exact", 0.975)
        text = run.status()
    assert "neural: epoch 3/30" in text and "best neural val exact 0.9750" in text
    assert "min used" in text and "min left" in text
    assert 0 < run.left <= 600


def test_enabled_bar_draws_and_log_records_pass_above_it():
    stream = io.StringIO()
    logger = logging.getLogger(LOGGER_NAME)
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        with RunProgress(60, enabled=True, stream=stream) as run:
            run.phase("classical", "fitting")
            logger.warning("a record during the run")
            run.best("classical val exact", 0.5)
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "classical: fitting" in out and "a record during the run" in out
    assert "train" in out and "/60 s" in out
