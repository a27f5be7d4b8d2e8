"""``predict`` on file names that hold anything a file system allows, links out of the folder and a full disk."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from captcha_solver.cli import cli
from captcha_solver.common import read_results
from captcha_solver.solver import My_CaptchaSolver_Model

REPO = Path(__file__).resolve().parents[2]
QUIET = ["--set", "logging.console=false", "--set", "tracking.wandb_mode=disabled"]
RECORD_START = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
)

# The names on disk (bytes) and how results.csv and stdout spell them.
ODD = {
    b"a\rb.png": "a\\rb.png",
    b"c\nd.png": "c\\nd.png",
    b"e\tf.png": "e\\tf.png",
    b"g\xff\xfeh.png": "g\\xff\\xfeh.png",  # not UTF-8
    b"=cmd|' \\C calc'!A0.png": "=cmd|' \\\\C calc'!A0.png",  # a formula, and a backslash
}


@pytest.fixture()
def odd_dir(captcha_dir, tmp_path):
    """Captchas under odd names, three plain ones, a blank image and a link to a captcha outside the folder."""
    folder, outside = tmp_path / "odd", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    sources = sorted(captcha_dir.glob("*.png"))[:9]
    for raw, source in zip(ODD, sources):
        shutil.copy(source, os.path.join(os.fsencode(folder), raw))
    plain = sources[5:8]
    for source in plain:
        shutil.copy(source, folder / source.name)
    Image.new("RGB", (160, 60), "white").save(folder / "blank.png")
    shutil.copy(sources[8], outside / "secret.png")
    (folder / "link.png").symlink_to(outside / "secret.png")
    return folder, outside, plain


def _run(args, cwd):
    return subprocess.run(
        [sys.executable, str(REPO / "model.py"), *QUIET, *args], cwd=cwd, capture_output=True, timeout=300
    )


def test_cli_predict_writes_one_well_formed_row_per_file_whatever_its_name(
    trained_model_dir, odd_dir, tmp_path
):
    folder, outside, plain = odd_dir
    results, log_file = tmp_path / "results.csv", tmp_path / "log_file.log"
    # From inside the folder (`--dataset .`) the file cells are bare names, so the one starting with '=' shows.
    done = _run(
        [
            "--set",
            f"paths.log_file={log_file}",
            "predict",
            "--dataset",
            ".",
            "--model-dir",
            str(trained_model_dir),
            "--results",
            str(results),
            "--workers",
            "2",
        ],
        cwd=folder,
    )
    stdout, stderr = done.stdout.decode("utf-8"), done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, stderr
    assert "Traceback" not in stderr

    entries = sorted(os.listdir(os.fsencode(folder)))
    assert len(entries) == 10
    raw = results.read_bytes()
    assert raw.count(b"\n") == 1 + len(entries) and b"\r" not in raw  # the header and one line per file
    with open(results, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    assert len(rows) == len(entries) and all(len(r) == 9 for r in rows)
    cells = {r[1]: r for r in rows}
    expected = {"'" + e if e.startswith("=") else e for e in ODD.values()}
    expected |= {p.name for p in plain} | {"blank.png", "link.png"}
    assert set(cells) == expected
    for name in ODD.values():
        row = cells["'" + name if name.startswith("=") else name]
        assert row[7] == "ok" and row[2], row  # read, with a prediction
    # The reader side gets the original bytes back.
    back = read_results(results)
    assert sorted(os.fsencode(r["file"]) for r in back) == entries
    by_name = {r["file"]: r for r in back}
    assert (
        by_name["blank.png"]["status"] == "error"
        and by_name["blank.png"]["error"] == "blank.png: no text found"
    )
    link = by_name["link.png"]
    assert link["status"] == "error"
    assert link["error"] == (
        f"link.png: is a symbolic link to {outside / 'secret.png'}, outside the dataset folder; not followed "
        "(set input.follow_symlinks: true to read such links)"
    )

    # stdout: one line per file, three tab-separated fields, then the summary.
    lines = stdout.split("\n")
    assert lines[-1] == "" and lines[-2] == f"{len(entries)} rows appended to {results} (2 errors)"
    file_lines = lines[:-2]
    assert len(file_lines) == len(entries)
    assert all(len(line.split("\t")) == 3 for line in file_lines)
    assert sorted(line.split("\t")[0] for line in file_lines) == sorted(
        list(ODD.values()) + [p.name for p in plain] + ["blank.png", "link.png"]
    )

    # The log: every line is a record of its own, none forged by a name.
    log_lines = log_file.read_text(encoding="utf-8").split("\n")[:-1]
    assert log_lines and all(RECORD_START.match(line) for line in log_lines)
    log_text = "\n".join(log_lines)
    assert "link.png: is a symbolic link to" in log_text and "blank.png: no text found" in log_text


def test_follow_symlinks_setting_reads_the_outside_link(trained_model_dir, odd_dir, tmp_path):
    folder, _, _ = odd_dir
    solver = My_CaptchaSolver_Model(
        model_dir=trained_model_dir,
        overrides={
            "logging.console": False,
            "paths.log_file": str(tmp_path / "l.log"),
            "input.follow_symlinks": True,
        },
        results_csv=tmp_path / "r.csv",
    )
    rows = {Path(r["file"]).name: r for r in solver.predict_dataset(folder, workers=1, progress=False)}
    assert rows["link.png"]["status"] == "ok" and rows["link.png"]["prediction"]


def test_disk_full_ends_the_run_with_a_clear_error(trained_model_dir, odd_dir, tmp_path):
    folder, _, plain = odd_dir
    small = tmp_path / "small"
    small.mkdir()
    for source in plain:
        shutil.copy(source, small / source.name)
    done = _run(
        [
            "--set",
            f"paths.log_file={tmp_path / 'l.log'}",
            "predict",
            "--dataset",
            str(small),
            "--model-dir",
            str(trained_model_dir),
            "--results",
            "/dev/full",
            "--workers",
            "1",
        ],
        cwd=tmp_path,
    )
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 1
    assert "Traceback" not in stderr
    assert "Error: /dev/full: cannot append 1 row(s): No space left on device; they were not saved" in stderr


def test_disk_full_single_image(trained_model_dir, odd_dir, tmp_path):
    _, _, plain = odd_dir
    args = QUIET + [
        "--set",
        f"paths.log_file={tmp_path / 'l.log'}",
        "predict",
        "--image",
        str(plain[0]),
        "--model-dir",
        str(trained_model_dir),
        "--results",
        "/dev/full",
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 1
    assert "/dev/full: cannot append 1 row(s): No space left on device" in result.output


def test_no_text_found_names_the_file(trained_model_dir, tmp_path):
    solver = My_CaptchaSolver_Model(
        model_dir=trained_model_dir,
        overrides={"logging.console": False, "paths.log_file": str(tmp_path / "l.log")},
        results_csv=tmp_path / "r.csv",
    )
    row = solver.predict_row(np.full((60, 160, 3), 255, np.uint8), name="white.png")
    assert row["status"] == "error" and row["error"] == "white.png: no text found"
