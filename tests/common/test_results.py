import csv
import multiprocessing
import threading

import pytest

from captcha_solver.common import RESULTS_COLUMNS, ResultsLog

HEADER = "timestamp,file,prediction,confidence,char_confidences,latency_ms,reader,status,error"


def _read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_columns_exact():
    assert ",".join(RESULTS_COLUMNS) == HEADER


def test_header_written_once(tmp_path):
    path = tmp_path / "data" / "results.csv"
    log = ResultsLog(path)
    log.append({"file": "a.png", "prediction": "ab12", "confidence": 0.9, "status": "ok"})
    ResultsLog(path).append({"file": "b.png", "status": "ok"})
    lines = path.read_text().splitlines()
    assert lines[0] == HEADER
    assert sum(line == HEADER for line in lines) == 1
    rows = _read(path)
    assert [r["file"] for r in rows] == ["a.png", "b.png"]
    assert rows[0]["confidence"] == "0.9"
    assert rows[0]["timestamp"]  # filled in automatically


def test_header_written_into_existing_empty_file(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("")
    ResultsLog(path).append({"file": "a.png"})
    assert path.read_text().splitlines()[0] == HEADER


def test_error_message_with_comma_quote_newline_round_trips(tmp_path):
    path = tmp_path / "results.csv"
    message = 'bad.png: not an image, "really"\nsecond line'
    ResultsLog(path).append(
        {"file": "bad, name.png", "status": "error", "error": message, "char_confidences": [0.5, 0.25]}
    )
    (row,) = _read(path)
    assert row["error"] == message
    assert row["file"] == "bad, name.png"
    assert row["char_confidences"] == "0.5;0.25"
    assert row["prediction"] == ""


def test_append_many(tmp_path):
    path = tmp_path / "results.csv"
    assert ResultsLog(path).append_many([]) == 0
    assert not path.exists()
    assert ResultsLog(path).append_many([{"file": f"{i}.png"} for i in range(5)]) == 5
    assert [r["file"] for r in _read(path)] == [f"{i}.png" for i in range(5)]


def test_unknown_column(tmp_path):
    with pytest.raises(ValueError, match=r"unknown column\(s\) 'pred'; expected some of timestamp,"):
        ResultsLog(tmp_path / "r.csv").append({"pred": "x"})


def test_row_not_a_dict(tmp_path):
    with pytest.raises(TypeError, match="a results row must be a dict, got list"):
        ResultsLog(tmp_path / "r.csv").append_many([["x"]])


def test_foreign_header_refused(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="does not start with the results header.*found 'a,b'"):
        ResultsLog(path).append({"file": "x"})
    assert path.read_text() == "a,b\n1,2\n"


def test_short_write_rolled_back(tmp_path, monkeypatch):
    import os

    path = tmp_path / "r.csv"
    ResultsLog(path).append({"file": "first"})
    before = path.read_bytes()
    real_write = os.write

    def half_write(fd, data):
        return real_write(fd, data[: len(data) // 2])

    monkeypatch.setattr(os, "write", half_write)
    with pytest.raises(OSError, match="short write"):
        ResultsLog(path).append({"file": "second", "error": "x" * 100})
    assert path.read_bytes() == before


def _writer(path, worker, n_rows):
    log = ResultsLog(path)
    for i in range(n_rows):
        log.append(
            {
                "file": f"w{worker}-{i}.png",
                "prediction": "abc",
                "confidence": 0.5,
                "status": "error",
                "error": f"worker {worker}, row {i}\nwith a newline and a \"quote\"" + "x" * 300,
            }
        )


def test_concurrent_processes_never_interleave(tmp_path):
    path = tmp_path / "results.csv"
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_writer, args=(path, w, 200)) for w in range(8)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=120)
        assert p.exitcode == 0
    text = path.read_text()
    assert text.count(HEADER) == 1
    rows = _read(path)
    assert len(rows) == 1600
    assert all(len(r) == len(RESULTS_COLUMNS) and None not in r for r in rows)
    assert {r["file"] for r in rows} == {f"w{w}-{i}.png" for w in range(8) for i in range(200)}
    assert all(r["error"].startswith("worker ") and r["error"].endswith("x" * 300) for r in rows)


def test_concurrent_threads(tmp_path):
    path = tmp_path / "results.csv"
    threads = [threading.Thread(target=_writer, args=(path, w, 50)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(_read(path)) == 200
