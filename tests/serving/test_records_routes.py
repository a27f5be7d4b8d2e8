"""GET /admin/log and /admin/results: the admin token, the filters, the downloads, missing files (issue 19, item 5)."""

from __future__ import annotations

import csv
import io

import pytest

pytest.importorskip("fastapi", reason="the API needs the 'serve' extra")
from fastapi.testclient import TestClient  # noqa: E402

from captcha_solver.common import ResultsLog  # noqa: E402
from captcha_solver.inference import shipped_model_dir  # noqa: E402
from captcha_solver.serving.api import create_app  # noqa: E402
from captcha_solver.settings import Config, apply_overrides  # noqa: E402

TOKEN = "adm1n-t0ken"
ENV = "CAPTCHA_ADMIN_TOKEN"
HEADERS = {"X-Admin-Token": TOKEN}


def _config(tmp_path):
    return apply_overrides(
        Config(),
        {
            "paths.results_csv": str(tmp_path / "results.csv"),
            "paths.log_file": str(tmp_path / "log_file.log"),
            "logging.console": False,
        },
    )


def _client(tmp_path, monkeypatch, token: str = TOKEN) -> TestClient:
    monkeypatch.setenv(ENV, token)
    return TestClient(create_app(model_dir=shipped_model_dir(), config=_config(tmp_path)))


def _results(tmp_path):
    ResultsLog(tmp_path / "results.csv").append_many(
        [
            {"timestamp": "2026-01-01T10:00:00+00:00", "file": "a.png", "prediction": "abc", "confidence": 0.5,
             "reader": "classical", "status": "ok"},
            {"timestamp": "2026-01-01T10:01:00+00:00", "file": "b.png", "prediction": "=SUM(1)", "confidence": 0.99,
             "reader": "neural", "status": "ok"},
            {"timestamp": "2026-01-01T10:02:00+00:00", "file": "c.txt", "status": "error",
             "error": "c.txt: not a PNG"},
        ]
    )  # fmt: skip


def test_refused_403_when_the_server_has_no_admin_token(tmp_path, monkeypatch):
    client = _client(tmp_path, monkeypatch, token="")
    for route in ("/admin/log", "/admin/results"):
        answer = client.get(route, headers={"X-Admin-Token": "anything"})
        assert answer.status_code == 403
        body = answer.json()
        assert (
            body["error"] == "admin_disabled" and ENV in body["detail"] and "X-Admin-Token" in body["detail"]
        )


def test_missing_or_wrong_token_is_401(tmp_path, monkeypatch):
    client = _client(tmp_path, monkeypatch)
    _results(tmp_path)
    assert client.get("/admin/results").json()["detail"].startswith("missing admin token")
    wrong = client.get("/admin/results", headers={"X-Admin-Token": "nope"})
    assert wrong.status_code == 401 and wrong.json()["detail"].startswith("wrong admin token")
    # The API key header is not the admin token.
    assert client.get("/admin/log", headers={"X-API-Key": TOKEN}).status_code == 401


def test_results_filtered_sorted_and_downloaded(tmp_path, monkeypatch):
    client = _client(tmp_path, monkeypatch)
    _results(tmp_path)
    body = client.get("/admin/results", headers=HEADERS, params={"sort": "confidence", "order": "asc"}).json()
    assert body["matched"] == 3
    # Numbers sort as numbers; the error row without a confidence comes last.
    assert [r["file"] for r in body["rows"]] == ["a.png", "b.png", "c.txt"]
    only_errors = client.get("/admin/results", headers=HEADERS, params={"status": "error"}).json()
    assert [r["file"] for r in only_errors["rows"]] == ["c.txt"]
    text = client.get("/admin/results", headers=HEADERS, params={"contains": "sum("}).json()
    assert [r["prediction"] for r in text["rows"]] == ["=SUM(1)"]
    limited = client.get("/admin/results", headers=HEADERS, params={"limit": 1}).json()
    assert limited["matched"] == 3 and [r["file"] for r in limited["rows"]] == ["c.txt"]  # newest first

    download = client.get("/admin/results", headers=HEADERS, params={"download": "true", "reader": "neural"})
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert 'filename="results.csv"' in download.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0][:3] == ["timestamp", "file", "prediction"] and len(rows) == 2
    assert rows[1][2] == "'=SUM(1)"  # formula-guarded as in the results CSV itself


def test_bad_query_values_are_422_naming_them(tmp_path, monkeypatch):
    client = _client(tmp_path, monkeypatch)
    _results(tmp_path)
    bad_sort = client.get("/admin/results", headers=HEADERS, params={"sort": "password"})
    assert bad_sort.status_code == 422 and "sort" in bad_sort.json()["detail"]
    bad_level = client.get("/admin/log", headers=HEADERS, params={"level": "LOUD"})
    assert bad_level.status_code == 422 and "level" in bad_level.json()["detail"]
    assert client.get("/admin/results", headers=HEADERS, params={"limit": 0}).status_code == 422


def test_log_newest_first_by_level_and_downloaded(tmp_path, monkeypatch):
    client = _client(tmp_path, monkeypatch)
    log = tmp_path / "log_file.log"
    log.write_text(
        "2026-01-01T10:00:00.000+00:00 INFO solver: first\n"
        "2026-01-01T10:00:01.000+00:00 ERROR api: broken thing\n"
        "    Traceback (most recent call last):\n"
        "    ValueError: boom\n"
        "2026-01-01T10:00:02.000+00:00 WARNING api: careful\n",
        encoding="utf-8",
    )
    body = client.get("/admin/log", headers=HEADERS, params={"level": "WARNING"}).json()
    assert [r["message"] for r in body["records"]] == ["careful", "broken thing"]
    assert "ValueError: boom" in body["records"][1]["detail"]
    download = client.get("/admin/log", headers=HEADERS, params={"download": True, "contains": "BOOM"})
    assert (
        download.status_code == 200 and 'filename="log_file.log"' in download.headers["content-disposition"]
    )
    assert download.text.splitlines() == [
        "2026-01-01T10:00:01.000+00:00 ERROR api: broken thing",
        "    Traceback (most recent call last):",
        "    ValueError: boom",
    ]


def test_missing_results_file_is_404_naming_it(tmp_path, monkeypatch):
    client = _client(tmp_path, monkeypatch)
    answer = client.get("/admin/results", headers=HEADERS)
    assert answer.status_code == 404
    assert (
        str(tmp_path / "results.csv") in answer.json()["detail"]
        and "does not exist" in answer.json()["detail"]
    )


def test_a_file_that_is_not_a_results_csv_is_named(tmp_path, monkeypatch):
    client = _client(tmp_path, monkeypatch)
    (tmp_path / "results.csv").write_text("name,secret\nx,y\n", encoding="utf-8")
    answer = client.get("/admin/results", headers=HEADERS)
    assert answer.status_code == 500 and answer.json()["error"] == "records_unreadable"
    assert (
        "results.csv" in answer.json()["detail"] and "expected the results header" in answer.json()["detail"]
    )


def test_unfiltered_log_download_is_the_whole_file(tmp_path, monkeypatch):
    client = _client(tmp_path, monkeypatch)
    log = tmp_path / "log_file.log"
    with open(log, "a", encoding="utf-8") as handle:
        handle.write("text some other program wrote\n")
    whole = log.read_bytes()
    download = client.get("/admin/log", headers=HEADERS, params={"download": True})
    assert download.status_code == 200 and download.content == whole
    assert 'filename="log_file.log"' in download.headers["content-disposition"]
    body = client.get("/admin/log", headers=HEADERS, params={"limit": 1}).json()
    # A line that is not a record belongs to the record above it.
    assert body["matched"] is None and len(body["records"]) == 1
    assert body["records"][0]["detail"] == "text some other program wrote"
    log.unlink()
    missing = client.get("/admin/log", headers=HEADERS, params={"download": True})
    assert missing.status_code == 404 and "log_file.log" in missing.json()["detail"]
