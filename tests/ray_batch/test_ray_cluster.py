"""``predict --engine ray --address`` on a real Ray cluster: a head and two worker nodes started by the test.

The rows equal a local run's, bad files get their error rows, Parquet
results hold the same rows, and a worker node killed in the middle of a job
leaves exactly one row per file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from captcha_solver.common import read_results
from captcha_solver.distributed import read_parquet_results
from tests.ray_batch.cluster import BAD_FILES

ROOT = Path(__file__).resolve().parents[2]
COMPARED = ("file", "prediction", "confidence", "char_confidences", "reader", "status", "error")

pytestmark = pytest.mark.timeout(300)


def _predict(cluster, cwd: Path, *args: str, wait: bool = True):
    """``captcha-solver predict`` in a fresh process, in ``cwd`` (its log and default results land there)."""
    command = [sys.executable, str(ROOT / "model.py"), "predict", *args]
    if not wait:
        return subprocess.Popen(
            command, cwd=cwd, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    return subprocess.run(command, cwd=cwd, env=cluster.env, capture_output=True, text=True, timeout=240)


def _compared(rows: list[dict]) -> list[tuple]:
    return [tuple(r[c] for c in COMPARED) for r in rows]


@pytest.fixture(scope="module")
def local_rows(cluster, mixed_dir, tmp_path_factory) -> list[dict]:
    """The rows of ``predict --workers 2`` (the local engine) on ``mixed_dir``."""
    cwd = tmp_path_factory.mktemp("local")
    local = _predict(cluster, cwd, "--dataset", str(mixed_dir), "--workers", "2", "--results", "local.csv")
    assert local.returncode == 0, local.stderr[-3000:]
    return read_results(cwd / "local.csv")


def test_rows_equal_a_local_run_and_bad_files_get_error_rows(cluster, mixed_dir, local_rows, tmp_path):
    cluster.wait_for_cpus(2)
    ray_run = _predict(
        cluster, tmp_path, "--dataset", str(mixed_dir), "--engine", "ray", "--address", cluster.address,
        "--results", "ray.csv",
    )  # fmt: skip
    assert ray_run.returncode == 0, ray_run.stderr[-3000:] + cluster.logs()
    ray_rows = read_results(tmp_path / "ray.csv")
    assert len(ray_rows) == 41 + len(BAD_FILES)
    assert _compared(ray_rows) == _compared(local_rows)  # same files, same order, same readings
    by_name = {os.fsencode(Path(r["file"]).name): r for r in ray_rows}
    assert by_name[b"odd\xff.png"]["status"] == "ok"  # a name that is not UTF-8 crosses Ray intact
    for name, word in BAD_FILES.items():
        row = by_name[name.encode()]
        assert row["status"] == "error" and word in row["error"] and name in row["error"], row
    assert sum(r["status"] == "ok" for r in ray_rows) == 41
    assert "46 rows appended" in ray_run.stdout and "(5 errors)" in ray_run.stdout
    assert "predict" in ray_run.stderr  # the progress bar, as for a local run


def test_parquet_results_hold_the_same_rows_and_a_foreign_file_is_kept(
    cluster, mixed_dir, local_rows, tmp_path
):
    cluster.wait_for_cpus(2)
    out = tmp_path / "rows.parquet"
    first = _predict(
        cluster, tmp_path, "--dataset", str(mixed_dir), "--engine", "ray", "--address", cluster.address,
        "--results", str(out),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr[-3000:]
    rows = read_parquet_results(out)
    assert len(rows) == 46 and len({r["file"] for r in rows}) == 46
    as_text = [
        {**r, "confidence": format(r["confidence"], ".6g"),
         "char_confidences": ";".join(format(c, ".6g") for c in r["char_confidences"])}
        for r in rows
    ]  # fmt: skip
    assert _compared(as_text) == _compared(local_rows)

    foreign = tmp_path / "theirs.parquet"
    foreign.write_bytes(b"PAR1 not ours")
    refused = _predict(
        cluster, tmp_path, "--dataset", str(mixed_dir), "--engine", "ray", "--address", cluster.address,
        "--results", str(foreign),
    )  # fmt: skip
    assert refused.returncode == 1
    assert "theirs.parquet" in refused.stderr and "not a Parquet results file" in refused.stderr
    assert foreign.read_bytes() == b"PAR1 not ours"


def _rows_in(path: Path) -> int:
    try:
        with open(path, "rb") as handle:
            return max(sum(1 for _ in handle) - 1, 0)
    except FileNotFoundError:
        return 0


def test_a_worker_node_killed_mid_job_leaves_one_row_per_file(cluster, kill_dir, tmp_path):
    """Runs last: it kills worker node w2 once 40% of the rows are written."""
    cluster.wait_for_cpus(2)
    results = tmp_path / "rows.csv"
    job = _predict(
        cluster, tmp_path, "--dataset", str(kill_dir), "--engine", "ray", "--address", cluster.address,
        "--results", str(results), wait=False,
    )  # fmt: skip
    killed_at = None
    deadline = time.monotonic() + 240
    try:
        while job.poll() is None and time.monotonic() < deadline:
            if killed_at is None and _rows_in(results) >= 240:
                killed_at = _rows_in(results)
                cluster.kill("w2")
            time.sleep(0.1)
    finally:
        if job.poll() is None:
            job.kill()
    stdout, stderr = job.communicate(timeout=30)
    assert killed_at is not None and killed_at < 600, "the job ended before the node could be killed"
    assert job.returncode == 0, stderr.decode(errors="replace")[-3000:] + cluster.logs()
    rows = read_results(results)
    files = [r["file"] for r in rows]
    assert len(files) == 600 and len(set(files)) == 600  # none lost, none written twice
    assert set(files) == {str(p) for p in kill_dir.glob("*.png")}
    assert all(r["status"] == "ok" for r in rows)
