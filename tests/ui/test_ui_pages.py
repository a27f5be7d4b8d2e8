"""The pages' handlers without a browser: batch, model card, records and monitoring, and who may see records."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest

from captcha_solver.common import ResultsLog, read_results
from captcha_solver.settings import resolve_config
from captcha_solver.ui._examples import make_examples
from captcha_solver.ui._files import UiFiles
from captcha_solver.ui._monitor_page import monitor_data
from captcha_solver.ui._predict_page import card_text, run_batch
from captcha_solver.ui._records_page import show_feedback, show_log, show_results
from captcha_solver.ui.app import SolverSession


@pytest.fixture()
def project(tmp_path, trained_model_dir):
    config = tmp_path / "config.yaml"
    config.write_text(
        f"paths:\n  model_dir: {trained_model_dir}\n  results_csv: {tmp_path / 'results.csv'}\n"
        f"  log_file: {tmp_path / 'log_file.log'}\nlogging:\n  console: false\n"
        f"feedback:\n  dir: {tmp_path / 'feedback'}\nmonitoring:\n  window: 20\n  min_fill: 10\n",
        encoding="utf-8",
    )
    return tmp_path


@pytest.fixture()
def files():
    owned = UiFiles()
    yield owned
    owned.cleanup()


def _session(project, monkeypatch, *, token="", **kwargs) -> SolverSession:
    monkeypatch.setenv("CAPTCHA_ADMIN_TOKEN", token)
    monkeypatch.delenv("CAPTCHA_SOLVER_PUBLIC", raising=False)
    config, path = resolve_config(project / "config.yaml")
    return SolverSession(config, path, **kwargs)


def test_batch_of_a_zip_reads_the_images_and_records_them(project, monkeypatch, files, captcha_dir):
    session = _session(project, monkeypatch)
    captchas = sorted(captcha_dir.glob("*.png"))[:3]
    upload = project / "upload.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        for path in captchas[:2]:
            archive.write(path, f"set/{path.name}")
        archive.writestr("../evil.png", captchas[0].read_bytes())
        archive.writestr("readme.txt", b"hello")
        archive.writestr("broken.png", b"not an image")
    loose = project / captchas[2].name
    loose.write_bytes(captchas[2].read_bytes())
    table, download, summary = run_batch(session, files, [str(upload), str(loose)])
    by_file = {row[0]: row for row in table}
    assert len(table) == 6 and summary.startswith("6 file(s): 3 read, 3 not read")
    for path in captchas[:2]:
        row = by_file[f"upload.zip/set/{path.name}"]
        assert row[4] == "ok" and row[1] and 0 < float(row[2]) <= 1
    assert by_file[captchas[2].name][4] == "ok"
    assert "'..'" in by_file["upload.zip/../evil.png"][5]
    assert "not an image file" in by_file["upload.zip/readme.txt"][5]
    assert (
        by_file["upload.zip/broken.png"][4] == "error" and "broken.png" in by_file["upload.zip/broken.png"][5]
    )
    # The readings the reader made (3 images and the broken one) went to the results CSV.
    recorded = read_results(project / "results.csv")
    assert sorted(r["file"] for r in recorded) == sorted(
        [f"upload.zip/set/{p.name}" for p in captchas[:2]] + [captchas[2].name, "upload.zip/broken.png"]
    )
    # The download is the table; it and the extracted copies are in the UI's own folder only.
    assert Path(download).is_relative_to(files.path)
    with open(download, newline="", encoding="utf-8") as handle:
        assert len(list(csv.reader(handle))) == 7
    assert not list(files.path.glob("batch-*"))
    assert sorted(p.name for p in project.iterdir()) == sorted(
        ["config.yaml", "results.csv", "log_file.log", "upload.zip", captchas[2].name]
    )
    assert run_batch(session, files, None)[2].startswith("Upload")


def test_model_card_of_the_loaded_model(project, monkeypatch):
    session = _session(project, monkeypatch)
    card = card_text(session)
    model = session.solver.model_
    assert " + ".join(model.readers) in card and str(model.folder) in card
    assert f"{len(model.charset)}: `" in card and "Exact answers (validation)" in card
    assert session.solver.model_version in card


def test_examples_are_drawn_the_same_from_the_same_seed(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = make_examples(tmp_path / "a", 3, 11)
    two = make_examples(tmp_path / "b", 3, 11)
    assert [t for _, t in one] == [t for _, t in two] and len({t for _, t in one}) == 3
    assert all(a.read_bytes() == b.read_bytes() for (a, _), (b, _) in zip(one, two))
    assert make_examples(tmp_path / "a", 0, 11) == []


def test_records_on_the_desktop(project, monkeypatch, files):
    session = _session(project, monkeypatch)
    (project / "results.csv").unlink(missing_ok=True)
    rows, download, message = show_results(session, files, "", "", "all", "all", "timestamp", "descending")
    assert (
        rows == []
        and download is None
        and message.startswith("Nothing to show yet")
        and "results.csv" in message
    )
    session.predict(None)
    ResultsLog(project / "results.csv").append_many(
        [{"file": f"f{i}.png", "prediction": "ab", "confidence": i / 10, "status": "ok"} for i in range(5)]
    )
    rows, download, message = show_results(session, files, "", "", "ok", "all", "confidence", "ascending")
    assert [r[1] for r in rows] == [f"f{i}.png" for i in range(5)] and "5 row(s)" in message
    assert len(read_results(download)) == 5
    rows, _, message = show_results(session, files, "", "", "all", "all", "secret", "ascending")
    assert rows == [] and "cannot sort by 'secret'" in message
    session.solver.logger.warning("a warning for the records page")
    rows, download, message = show_log(session, files, "", "WARNING", "records page")
    assert [r[3] for r in rows] == ["a warning for the records page"] and rows[0][1] == "WARNING"
    assert Path(download).read_text(encoding="utf-8").count("\n") == 1
    rows, download, message = show_log(session, files, "", "all", "")
    assert rows[0][3] == "a warning for the records page" and "the download is the whole file" in message
    assert Path(download).read_bytes() == (project / "log_file.log").read_bytes()


def test_records_refused_in_public_mode_without_the_token(project, monkeypatch, files):
    ResultsLog(project / "results.csv").append({"file": "secret-name.png", "status": "ok"})
    public = _session(project, monkeypatch, public=True)
    for rows, *_, message in (
        show_results(public, files, "", "", "all", "all", "timestamp", "descending"),
        show_log(public, files, "", "all", ""),
    ):
        assert rows == [] and message.startswith("Refused") and "CAPTCHA_ADMIN_TOKEN" in message
    assert show_feedback(public, files, "")[1].startswith("Refused")
    assert monitor_data(public, "")[1].startswith("Refused")
    exposed = _session(project, monkeypatch, host="0.0.0.0")
    assert show_log(exposed, files, "", "all", "")[2].startswith("Refused: the UI listens on 0.0.0.0")

    guarded = _session(project, monkeypatch, public=True, token="s3cret")
    assert show_results(guarded, files, "wrong", "", "all", "all", "timestamp", "descending")[2].startswith(
        "Refused: wrong or missing admin token"
    )
    rows, _, _ = show_results(guarded, files, "s3cret", "", "all", "all", "timestamp", "descending")
    assert [r[1] for r in rows] == ["secret-name.png"]


def test_kept_captchas_gallery(project, monkeypatch, files, captcha_dir):
    from captcha_solver.monitoring import FeedbackLog

    session = _session(project, monkeypatch)
    assert "No kept captcha" in show_feedback(session, files, "")[1]
    folder = project / "feedback"
    (folder / "labelled").mkdir(parents=True)
    image = min(captcha_dir.glob("*.png"))
    (folder / "labelled" / "abc.png").write_bytes(image.read_bytes())
    FeedbackLog(folder / "feedback.csv").append(
        {"request_id": "r1", "model_version": "v9", "prediction": "abd", "accepted": False, "text": "abc",
         "saved_as": "labelled/abc.png"}
    )  # fmt: skip
    items, message = show_feedback(session, files, "")
    assert len(items) == 1 and "keep_images` is off" in message
    copy, caption = items[0]
    assert Path(copy).is_relative_to(files.path) and Path(copy).read_bytes() == image.read_bytes()
    assert "abd rejected" in caption and "true text abc" in caption and "v9" in caption


def test_monitoring_without_files_explains_and_with_rows_plots(project, monkeypatch, captcha_dir):
    session = _session(project, monkeypatch)
    frames, summary = monitor_data(session, "")
    assert all(frame.empty for frame in frames.values())
    assert "no API or metrics server is needed" in summary and "Results: nothing yet" in summary
    assert "Feedback: no verdict yet" in summary
    for path in sorted(captcha_dir.glob("*.png"))[:12]:
        session.solver.predict_row(path)
    frames, summary = monitor_data(session, "")
    assert "12 row(s)" in summary and "12 answered" in summary
    assert frames["requests"]["per_minute"].sum() > 0
    assert set(frames["confidence"]["series"]) == {
        "median confidence",
        f"share below {session.solver.model_.policy.min_confidence:g}",
    }
    # The test model was trained with a baseline, or not: either a score or the reason is shown.
    assert ("Drift: latest score" in summary) == (not frames["drift"].empty)
