"""The records the pages show: the log read backwards and filtered, the results filtered and sorted, the kept
captchas, and the errors for bad filters and missing or foreign files (issue 19, item 5)."""

from __future__ import annotations

import os

import pytest

from captcha_solver.common import ResultsLog, read_results
from captcha_solver.monitoring import FeedbackLog
from captcha_solver.records import (
    RecordsError,
    feedback_images,
    filter_results,
    load_feedback,
    load_results,
    log_records,
    log_text,
    results_csv_bytes,
)


def _line(i: int, level: str = "INFO", message: str | None = None) -> str:
    return f"2026-01-01T10:{i // 60:02d}:{i % 60:02d}.000+00:00 {level} mod: {message or f'record {i}'}\n"


def test_log_newest_first_across_blocks_with_tracebacks(tmp_path):
    path = tmp_path / "log_file.log"
    lines = []
    for i in range(3000):  # ~170 KB: several 64 KiB blocks, read from the end
        lines.append(_line(i, "ERROR" if i % 100 == 0 else "INFO"))
        if i % 100 == 0:
            lines.append(f"    Traceback for {i}\n    ValueError: bad {i}\n")
    path.write_text("".join(lines), encoding="utf-8")
    newest = log_records(path, limit=3)
    assert [r.message for r in newest] == ["record 2999", "record 2998", "record 2997"]
    errors = log_records(path, level="error", limit=None)
    assert len(errors) == 30 and errors[0].message == "record 2900"
    assert errors[0].detail == "    Traceback for 2900\n    ValueError: bad 2900"
    assert [r.message for r in log_records(path, contains="BAD 1500")] == ["record 1500"]
    everything = log_records(path, limit=None)
    assert len(everything) == 3000 and log_text(everything) == path.read_text(encoding="utf-8")


def test_log_keeps_foreign_lines_and_bad_bytes(tmp_path):
    path = tmp_path / "log_file.log"
    path.write_bytes(
        b"written by hand\n" + _line(1).encode() + b"\xff\xfe not utf-8\n" + _line(2, "WARNING").encode()
    )
    records = log_records(path)
    assert [r.message for r in records] == ["record 2", "record 1", "written by hand"]
    assert "\ufffd" in records[1].detail  # the bad bytes are replaced, not fatal
    assert [r.message for r in log_records(path, level="WARNING")] == ["record 2"]


def test_log_errors_name_the_file_or_value(tmp_path):
    with pytest.raises(RecordsError) as missing:
        log_records(tmp_path / "none.log")
    assert (
        missing.value.missing and "none.log" in str(missing.value) and "does not exist" in str(missing.value)
    )
    with pytest.raises(RecordsError, match="unknown log level 'LOUD'.*DEBUG, INFO"):
        log_records(tmp_path / "none.log", level="LOUD")
    with pytest.raises(RecordsError, match="is not a regular file") as folder:
        log_records(tmp_path)
    assert not folder.value.missing


def _results(path):
    ResultsLog(path).append_many(
        [
            {"timestamp": "2026-01-01T10:00:00+02:00", "file": "a.png", "prediction": "AbC", "confidence": 0.7,
             "latency_ms": 12, "reader": "classical", "status": "ok"},
            {"timestamp": "2026-01-01T09:30:00+00:00", "file": "b.png", "prediction": "xyz", "confidence": 0.95,
             "latency_ms": 3, "reader": "neural", "status": "ok"},
            {"timestamp": "2026-01-01T09:00:00+00:00", "file": "c.png", "status": "error", "error": "c.png: truncated"},
        ]
    )  # fmt: skip
    return load_results(path)


def test_results_filter_and_sort(tmp_path):
    rows = _results(tmp_path / "results.csv")
    # 10:00+02:00 is 08:00 UTC: the oldest, whatever its text says.
    assert [r["file"] for r in filter_results(rows)] == ["b.png", "c.png", "a.png"]
    assert [r["file"] for r in filter_results(rows, sort="confidence")] == ["b.png", "a.png", "c.png"]
    assert [r["file"] for r in filter_results(rows, sort="confidence", descending=False)] == [
        "a.png",
        "b.png",
        "c.png",
    ]
    assert [r["file"] for r in filter_results(rows, sort="latency_ms", descending=False)] == [
        "b.png",
        "a.png",
        "c.png",
    ]
    assert [r["file"] for r in filter_results(rows, sort="prediction", descending=False)][:2] == [
        "a.png",
        "b.png",
    ]
    assert [r["file"] for r in filter_results(rows, contains="TRUNC")] == ["c.png"]
    assert [r["file"] for r in filter_results(rows, status="ok", reader="neural")] == ["b.png"]


def test_bad_sort_key_is_refused_naming_it(tmp_path):
    rows = _results(tmp_path / "results.csv")
    with pytest.raises(RecordsError, match=r"cannot sort by 'password': expected one of timestamp, file"):
        filter_results(rows, sort="password")


def test_results_csv_round_trip_and_foreign_file(tmp_path):
    rows = _results(tmp_path / "results.csv")
    again = tmp_path / "again.csv"
    again.write_bytes(results_csv_bytes(rows))
    assert read_results(again) == rows
    assert results_csv_bytes([]).decode().startswith("timestamp,file,")
    foreign = tmp_path / "other.csv"
    foreign.write_text("user,password\nbob,secret\n", encoding="utf-8")
    with pytest.raises(RecordsError, match="other.csv: expected the results header") as error:
        load_results(foreign)
    assert not error.value.missing
    with pytest.raises(RecordsError) as missing:
        load_results(tmp_path / "nothing.csv")
    assert missing.value.missing


def test_kept_captchas_only_from_inside_the_feedback_folder(tmp_path, captcha_dir):
    folder = tmp_path / "feedback"
    (folder / "labelled").mkdir(parents=True)
    (folder / "unlabelled").mkdir()
    image = min(captcha_dir.glob("*.png")).read_bytes()
    (folder / "labelled" / "abc.png").write_bytes(image)
    (folder / "unlabelled" / "r2.png").write_bytes(image)
    outside = tmp_path / "secret.png"
    outside.write_bytes(image)
    os.symlink(outside, folder / "labelled" / "link.png")
    log = FeedbackLog(folder / "feedback.csv")
    log.append({"request_id": "r1", "model_version": "models:/captcha/1", "prediction": "abc", "accepted": True,
                "saved_as": "labelled/abc.png"})  # fmt: skip
    log.append({"request_id": "r2", "model_version": "models:/captcha/1", "prediction": "xyz", "accepted": False,
                "saved_as": str(folder / "unlabelled" / "r2.png")})  # fmt: skip
    for bad in ("../secret.png", str(outside), "labelled/link.png", "labelled/gone.png", ""):
        log.append({"request_id": "r", "prediction": "q", "accepted": False, "saved_as": bad})
    found = feedback_images(folder)
    assert [(p.name, row["request_id"]) for p, row in found] == [("r2.png", "r2"), ("abc.png", "r1")]
    assert found[1][1]["accepted"] is True
    assert [row["request_id"] for _, row in feedback_images(folder, limit=1)] == ["r2"]
    assert feedback_images(tmp_path / "no-feedback-yet") == []
    assert len(load_feedback(folder / "feedback.csv")) == 7


def test_foreign_feedback_file_is_named(tmp_path):
    (tmp_path / "feedback.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(RecordsError, match="feedback.csv: expected the feedback header"):
        feedback_images(tmp_path)
