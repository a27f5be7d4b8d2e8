"""Upload names holding newlines, carriage returns or formulas: one results row each, no forged log line."""

from __future__ import annotations

import base64
import csv
import re

import httpx

from captcha_solver.common import read_results

RECORD_START = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
)
NAMES = {
    "a\rb.png": "a\\rb.png",
    "x\ny\n2026-01-01T00:00:00.000+00:00 ERROR api: forged.png": "x\\ny\\n2026-01-01T00:00:00.000+00:00 ERROR api: forged.png",
    "=cmd|' -C calc'!A0.png": "'=cmd|' -C calc'!A0.png",
    "tab\there.png": "tab\\there.png",
}


def test_json_names_give_one_well_formed_row_each(server, captcha_files):
    before = read_results(server.results_csv) if server.results_csv.exists() else []
    image = base64.b64encode(captcha_files[0].read_bytes()).decode()
    for name in NAMES:
        response = httpx.post(server.url + "/predict", json={"image_base64": image, "name": name})
        assert response.status_code == 200, response.text
        assert response.json()["name"] == name  # JSON carries the name as it came
    with open(server.results_csv, newline="", encoding="utf-8") as handle:
        raw_rows = list(csv.reader(handle))[1:]
    assert len(server.results_csv.read_bytes().splitlines()) == 1 + len(raw_rows)  # one line per row
    assert [r[1] for r in raw_rows[len(before) :]] == list(NAMES.values())
    assert [r["file"] for r in read_results(server.results_csv)[len(before) :]] == list(NAMES)
    log_lines = server.log_file.read_text(encoding="utf-8").split("\n")[:-1]
    assert all(RECORD_START.match(line) or line.startswith("    ") for line in log_lines)
    assert not any(line.startswith("2026-01-01T00:00:00.000") for line in log_lines)
