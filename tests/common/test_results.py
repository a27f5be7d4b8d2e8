import csv
import errno
import multiprocessing
import os
import threading

import pytest

from captcha_solver.common import RESULTS_COLUMNS, ResultsLog, ResultsWriteError, read_results

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
    assert len(path.read_bytes().splitlines()) == 2  # the header and one line per row
    (row,) = _read(path)
    assert row["error"] == 'bad.png: not an image, "really"\\nsecond line'  # escaped on its line
    assert row["file"] == "bad, name.png"
    assert row["char_confidences"] == "0.5;0.25"
    assert row["prediction"] == ""
    (row,) = read_results(path)
    assert row["error"] == message


# Every kind of name a file system or a client can hand in, and how the CSV cell spells it.
NAMES = {
    "a\rb.png": "a\\rb.png",
    "c\nd.png": "c\\nd.png",
    "e\tf.png": "e\\tf.png",
    os.fsdecode(b"g\xff\xfeh.png"): "g\\xff\\xfeh.png",
    "=cmd|' /C calc'!A0.png": "'=cmd|' /C calc'!A0.png",
    "+1.png": "'+1.png",
    "-1.png": "'-1.png",
    "@x.png": "'@x.png",
    "'q.png": "''q.png",
    "back\\slash.png": "back\\\\slash.png",
    "plain.png": "plain.png",
}


def test_every_name_is_one_well_formed_row(tmp_path):
    path = tmp_path / "results.csv"
    log = ResultsLog(path)
    for name in NAMES:
        log.append({"file": name, "prediction": "ab12", "status": "ok"})
    raw = path.read_bytes()
    assert raw.count(b"\n") == 1 + len(NAMES) and b"\r" not in raw and b"\t" not in raw
    rows = _read(path)
    assert [r["file"] for r in rows] == list(NAMES.values())
    assert all(len(r) == len(RESULTS_COLUMNS) and None not in r for r in rows)
    back = read_results(path)
    assert [r["file"] for r in back] == list(NAMES)
    # The original bytes of a name that is not UTF-8 are recoverable.
    assert os.fsencode(back[3]["file"]) == b"g\xff\xfeh.png"


def test_text_cells_are_neutralised_numbers_are_not(tmp_path):
    path = tmp_path / "results.csv"
    ResultsLog(path).append(
        {
            "file": "=1+2.png",
            "prediction": "-x",
            "error": "@SUM(A1)",
            "reader": "+r",
            "status": "=s",
            "latency_ms": -1.5,
            "confidence": "-0.25",
            "char_confidences": [-0.5, 1],
        }
    )
    (row,) = _read(path)
    assert [row[c] for c in ("file", "prediction", "error", "reader", "status")] == [
        "'=1+2.png",
        "'-x",
        "'@SUM(A1)",
        "'+r",
        "'=s",
    ]
    assert (row["latency_ms"], row["confidence"], row["char_confidences"]) == ("-1.5", "-0.25", "-0.5;1")
    (back,) = read_results(path)
    assert back["file"] == "=1+2.png" and back["error"] == "@SUM(A1)" and back["latency_ms"] == "-1.5"


def test_bytes_names_and_control_characters_in_any_cell(tmp_path):
    path = tmp_path / "results.csv"
    ResultsLog(path).append({"file": b"raw\xe9\r.png", "timestamp": "2026\r01", "error": "x\x00y\u2028z"})
    assert len(path.read_bytes().splitlines()) == 2
    (row,) = read_results(path)
    assert os.fsencode(row["file"]) == b"raw\xe9\r.png"
    assert row["timestamp"] == "2026\r01" and row["error"] == "x\x00y\u2028z"


def test_read_results_names_the_bad_line(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(HEADER + "\n" + ",".join(["t", "ok.png"] + [""] * 7) + "\n" + "t,short\n")
    with pytest.raises(ValueError, match=r"r\.csv, line 3: expected 9 cells, found 2"):
        read_results(path)
    path.write_text(HEADER + "\n" + ",".join(["t", "bad\\q.png"] + [""] * 7) + "\n")
    with pytest.raises(ValueError, match=r"r\.csv, line 2, column file: invalid escape"):
        read_results(path)
    path.write_text("a,b\n")
    with pytest.raises(ValueError, match="expected the results header .* found 'a,b'"):
        read_results(path)


def test_append_many(tmp_path):
    path = tmp_path / "results.csv"
    assert ResultsLog(path).append_many([]) == 0
    assert not path.exists()
    assert ResultsLog(path).append_many([{"file": f"{i}.png"} for i in range(5)]) == 5
    assert [r["file"] for r in _read(path)] == [f"{i}.png" for i in range(5)]


def test_unknown_column(tmp_path):
    with pytest.raises(ValueError, match=r"unknown results column\(s\) 'pred'; expected some of timestamp,"):
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


def test_disk_full_is_a_clear_error_and_keeps_the_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "r.csv"
    log = ResultsLog(path)
    log.append_many([{"file": "first.png"}, {"file": "second.png"}])
    before = path.read_bytes()

    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(ResultsWriteError) as caught:
        log.append({"file": "third.png"})
    assert caught.value.errno == errno.ENOSPC and isinstance(caught.value, OSError)
    message = str(caught.value)
    assert message.startswith(f"{path}: cannot append 1 row(s): No space left on device; they were not saved")
    assert "2 earlier row(s) of this run were" in message
    assert path.read_bytes() == before


def test_dev_full(tmp_path):
    # A real ENOSPC from the kernel; ftruncate on the device fails too and must not hide it.
    with pytest.raises(
        ResultsWriteError, match=r"^/dev/full: cannot append 1 row\(s\): No space left on device"
    ) as caught:
        ResultsLog("/dev/full").append({"file": "a.png"})
    assert caught.value.errno == errno.ENOSPC


def test_unwritable_folder_is_a_results_write_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(
        ResultsWriteError,
        match=r"file/r\.csv: cannot append 1 row\(s\): cannot create its folder .*file \(File exists\)",
    ):
        ResultsLog(blocker / "r.csv").append({"file": "a.png"})


def _writer(path, worker, n_rows):
    log = ResultsLog(path)
    for i in range(n_rows):
        log.append(
            {
                "file": f"w{worker}-{i}.png",
                "prediction": "abc",
                "confidence": 0.5,
                "status": "error",
                "error": f'worker {worker}, row {i}\nwith a newline and a "quote"' + "x" * 300,
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
    assert len(text.splitlines()) == 1601  # every row on one line, newlines in messages escaped


def test_concurrent_threads(tmp_path):
    path = tmp_path / "results.csv"
    threads = [threading.Thread(target=_writer, args=(path, w, 50)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(_read(path)) == 200
