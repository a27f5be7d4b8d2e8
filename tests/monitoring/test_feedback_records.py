"""feedback.csv: appended whole rows from many threads, read back with the original text of every cell."""

from __future__ import annotations

import threading

import pytest

from captcha_solver.monitoring import FEEDBACK_COLUMNS, FeedbackLog, read_feedback


def test_rows_round_trip_with_hostile_text(tmp_path):
    log = FeedbackLog(tmp_path / "fb" / "feedback.csv")
    rows = [
        {
            "request_id": "a1",
            "model_version": "folder:abc",
            "prediction": "=cmd|x",
            "accepted": True,
            "text": "",
        },
        {
            "request_id": "a2",
            "model_version": "models:/m/3",
            "prediction": 'x\ny,"z',
            "accepted": False,
            "text": "x7k2",
            "saved_as": "labelled-2/x7k2.png",
        },
    ]
    for row in rows:
        log.append(row)
    found = read_feedback(tmp_path / "fb" / "feedback.csv")
    assert [r["prediction"] for r in found] == ["=cmd|x", 'x\ny,"z']
    assert [r["accepted"] for r in found] == [True, False]
    assert found[1]["saved_as"] == "labelled-2/x7k2.png" and found[0]["saved_as"] == ""
    assert set(found[0]) == set(FEEDBACK_COLUMNS) and found[0]["timestamp"]
    # One line per row in the file (newlines escaped), a formula neutralised for spreadsheets.
    text = (tmp_path / "fb" / "feedback.csv").read_text(encoding="utf-8")
    assert len(text.splitlines()) == 3 and "'=cmd" in text


def test_concurrent_appends_keep_every_row_whole(tmp_path):
    log = FeedbackLog(tmp_path / "feedback.csv")

    def write(k):
        for i in range(100):
            log.append({"request_id": f"{k}-{i}", "accepted": i % 2 == 0, "prediction": "abc" * 20})

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = read_feedback(tmp_path / "feedback.csv")
    assert sorted(r["request_id"] for r in rows) == sorted(f"{k}-{i}" for k in range(4) for i in range(100))


def test_bad_files_and_rows_are_named(tmp_path):
    assert read_feedback(tmp_path / "none.csv") == []
    other = tmp_path / "other.csv"
    other.write_text("timestamp,file\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="other.csv: expected the feedback header"):
        read_feedback(other)
    with pytest.raises(ValueError, match="does not start with the feedback header"):
        FeedbackLog(other).append({"request_id": "x", "accepted": True})
    assert other.read_text(encoding="utf-8") == "timestamp,file\n1,2\n"  # not written to
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(FEEDBACK_COLUMNS) + "\nt,r,v,p,maybe,,\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.csv, line 2: column accepted"):
        read_feedback(bad)
    with pytest.raises(ValueError, match="unknown feedback column"):
        FeedbackLog(tmp_path / "x.csv").append({"file": "a.png"})
