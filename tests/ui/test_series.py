"""The monitoring page's series: requests per minute, confidence windows with the drift score, accept rate."""

from __future__ import annotations

import datetime as dt

import pytest

from captcha_solver.monitoring import DRIFT_ALERT, baseline_from
from captcha_solver.ui._series import (
    Reading,
    accept_rate_windows,
    confidence_windows,
    readings_of,
    requests_per_minute,
)

T0 = dt.datetime(2026, 1, 1, 10, 0, tzinfo=dt.UTC)


def _row(seconds: float, confidence="0.99", prediction="abcd", status="ok") -> dict:
    stamp = (T0 + dt.timedelta(seconds=seconds)).isoformat()
    return {"timestamp": stamp, "confidence": confidence, "prediction": prediction, "status": status}


def test_readings_skip_errors_and_unusable_rows():
    rows = [
        _row(0),
        _row(1, status="error"),
        _row(2, confidence=""),
        {"timestamp": "yesterday", "status": "ok"},
    ]
    rows.append(_row(3, confidence="nan"))
    assert readings_of(rows) == [Reading(T0, 0.99, 4)]


def test_requests_per_minute_by_status():
    rows = [_row(s) for s in (0, 10, 20, 70)] + [_row(30, status="error")]
    points = requests_per_minute(rows)
    assert [(p["time"].minute, p["status"], p["per_minute"]) for p in points] == [
        (0, "error", 1.0),
        (0, "ok", 3.0),
        (1, "ok", 1.0),
    ]


def test_requests_per_minute_groups_a_long_span():
    rows = [_row(hour * 3600) for hour in range(48)] + [_row(60)]
    points = requests_per_minute(rows, max_points=100)
    # 48 hours do not fit 100 one-minute points: one point per hour, as a per-minute average.
    assert len(points) == 48 and points[0]["per_minute"] == pytest.approx(2 / 60)
    assert requests_per_minute([{"timestamp": "", "status": "ok"}]) == []


def test_confidence_windows_and_drift_of_a_changed_style():
    seed_style = [Reading(T0 + dt.timedelta(seconds=i), 0.97 if i % 3 == 2 else 0.99, 5) for i in range(300)]
    baseline = baseline_from([0.99] * 200 + [0.97] * 100, [5] * 300)
    changed = [Reading(T0 + dt.timedelta(seconds=300 + i), 0.4, 8) for i in range(300)]
    points = confidence_windows(
        seed_style + changed, window=100, min_fill=50, threshold=0.9, baseline=baseline, max_points=60
    )
    assert len(points) == 60 and points[-1]["time"] == changed[-1].time
    assert points[0]["drift"] is None  # 10 answers: under min_fill
    calm = [p for p in points if p["time"] <= seed_style[-1].time and p["drift"] is not None]
    assert calm and all(p["drift"] < DRIFT_ALERT for p in calm)
    assert points[-1]["drift"] > DRIFT_ALERT and points[-1]["answers"] == 100
    assert points[-1]["median"] == pytest.approx(0.4) and points[-1]["below"] == 1.0
    assert calm[-1]["below"] == 0.0
    no_baseline = confidence_windows(seed_style, window=100, min_fill=50, threshold=0.9, baseline=None)
    assert all(p["drift"] is None for p in no_baseline) and len(no_baseline) == 300
    assert confidence_windows([], window=10, min_fill=1, threshold=0.9, baseline=None) == []


def test_accept_rate_per_version():
    feedback = [
        {
            "timestamp": (T0 + dt.timedelta(seconds=i)).isoformat(),
            "model_version": "v1",
            "accepted": i % 2 == 0,
        }
        for i in range(10)
    ] + [
        {"timestamp": T0.isoformat(), "model_version": "v2", "accepted": True},
        {"timestamp": "", "model_version": "v2", "accepted": False},
        {"timestamp": T0.isoformat(), "model_version": "v2", "accepted": "yes"},
    ]
    points = accept_rate_windows(feedback, window=4)
    v1 = [p for p in points if p["version"] == "v1"]
    v2 = [p for p in points if p["version"] == "v2"]
    assert (
        len(v1) == 10
        and v1[-1]["accept_rate"] == 0.5
        and v1[-1]["verdicts"] == 4
        and v1[0]["accept_rate"] == 1.0
    )
    assert [(p["accept_rate"], p["verdicts"]) for p in v2] == [(1.0, 1)]
