"""The API's answer metrics per model version: counts, fast-path share, drift gauges, bounded versions."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

pytest.importorskip("prometheus_client")

from captcha_solver.monitoring import baseline_from  # noqa: E402
from captcha_solver.serving._metrics import Metrics  # noqa: E402
from captcha_solver.serving._monitor import MAX_VERSIONS, AnswerMonitor  # noqa: E402
from captcha_solver.settings import Config, apply_overrides  # noqa: E402


def _model(baseline=None, threshold=0.9):
    monitoring = None if baseline is None else SimpleNamespace(baseline=baseline)
    return SimpleNamespace(
        manifest=SimpleNamespace(monitoring=monitoring), policy=SimpleNamespace(min_confidence=threshold)
    )


def _answer(version, confidence, text="abcd", reader="classical"):
    return {"model_version": version, "confidence": confidence, "text": text, "reader": reader}


def _value(metrics, name, **labels):
    return metrics.registry.get_sample_value(name, labels)


@pytest.fixture
def monitor():
    settings = apply_overrides(Config(), {"monitoring.window": 20, "monitoring.min_fill": 10}).monitoring
    return AnswerMonitor(Metrics(), settings, logger=logging.getLogger("test-monitor"))


def test_answers_are_counted_per_version_with_the_fast_path_share(monitor):
    base = baseline_from([0.99] * 100, [4] * 100).to_dict()
    model = _model(base, threshold=0.9)
    for confidence in (0.95, 0.5, 0.99, 0.2):
        monitor.observe(_answer("v1", confidence), model)
    metrics = monitor.metrics
    assert _value(metrics, "captcha_answers_total", model_version="v1", reader="classical") == 4
    assert _value(metrics, "captcha_answers_below_fast_path_total", model_version="v1") == 2
    assert _value(metrics, "captcha_answer_confidence_count", model_version="v1") == 4
    assert _value(metrics, "captcha_answer_length_bucket", model_version="v1", le="4.0") == 4
    assert _value(metrics, "captcha_answer_length_bucket", model_version="v1", le="3.0") == 0


def test_the_drift_gauge_appears_at_min_fill_and_follows_the_window(monitor):
    base = baseline_from([0.99] * 100, [4] * 100).to_dict()
    model = _model(base)
    for _ in range(9):
        monitor.observe(_answer("v1", 0.99), model)
    monitor.metrics.render()
    assert _value(monitor.metrics, "captcha_drift_score", model_version="v1") is None
    assert _value(monitor.metrics, "captcha_drift_window_answers", model_version="v1") == 9
    monitor.observe(_answer("v1", 0.99), model)
    monitor.metrics.render()
    assert _value(monitor.metrics, "captcha_drift_score", model_version="v1") < 0.05
    for _ in range(20):  # another style fills the window
        monitor.observe(_answer("v1", 0.3, text="ab"), model)
    text = monitor.metrics.render().decode()
    assert _value(monitor.metrics, "captcha_drift_score", model_version="v1") > 0.25
    assert 'captcha_drift_score{model_version="v1"}' in text


def test_models_without_or_with_a_broken_baseline_answer_without_a_drift_score(monitor, caplog):
    with caplog.at_level(logging.WARNING, logger="test-monitor"):
        for _ in range(12):
            monitor.observe(_answer("old", 0.9), _model(None))
            monitor.observe(_answer("broken", 0.9), _model({"confidence_edges": "x"}))
    monitor.metrics.render()
    assert _value(monitor.metrics, "captcha_answers_total", model_version="old", reader="classical") == 12
    assert _value(monitor.metrics, "captcha_drift_score", model_version="old") is None
    assert _value(monitor.metrics, "captcha_drift_score", model_version="broken") is None
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2  # once per version, not per answer
    assert "has no monitoring baseline" in warnings[0] and "broken monitoring baseline" in warnings[1]


def test_only_the_latest_versions_keep_a_drift_gauge(monitor):
    base = baseline_from([0.99] * 100, [4] * 100).to_dict()
    versions = [f"v{i}" for i in range(MAX_VERSIONS + 2)]
    for version in versions:
        for _ in range(10):
            monitor.observe(_answer(version, 0.99), _model(base))
        monitor.metrics.render()
    kept = [
        v for v in versions if _value(monitor.metrics, "captcha_drift_score", model_version=v) is not None
    ]
    assert kept == versions[-MAX_VERSIONS:]
