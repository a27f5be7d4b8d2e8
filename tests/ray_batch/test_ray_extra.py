"""The ``ray`` extra: who pulls Ray in, the error without it, the CLI's checks, the actor and the Parquet rows.

No cluster here: the actor class and the Parquet writer run in this
process; one test starts a local Ray instance (``--engine ray`` without
``--address``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from captcha_solver.cli import cli
from captcha_solver.common import read_results
from captcha_solver.inference import Model, shipped_model_dir
from captcha_solver.read_result import csv_row
from captcha_solver.settings import Config
from tests.ray_batch.cluster import BAD_FILES, add_bad_files

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ packaging
def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _closure(requirements: list[str]) -> set[str]:
    """Every distribution the requirements pull in, through the installed packages' own requirements.

    Extras of dependencies are followed only where asked for (``pkg[extra]``);
    requirements with an environment marker that does not hold here are skipped.
    """
    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name = _name(req.name)
        key = name + str(sorted(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            sub = Requirement(text)
            wanted = [{"extra": e} for e in req.extras] or [{"extra": ""}]
            if sub.marker is None or any(sub.marker.evaluate(env) for env in wanted):
                todo.append(sub)
    return {re.sub(r"\[.*", "", k) for k in seen}


def test_ray_is_an_extra_that_neither_the_base_nor_serve_nor_ui_pulls_in():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert [_name(r) for r in extras["ray"]] == ["ray"] and "[data]" in extras["ray"][0]
    image = project["dependencies"] + extras["serve"] + extras["ui"]
    pulled = _closure(image)
    assert "fastapi" in pulled and "numpy" in pulled  # the walk does follow the requirements
    assert "ray" not in pulled
    assert "ray" in _closure(extras["ray"])
    make = (ROOT / "Makefile").read_text()
    assert '".[train,serve,ui,dev,ray]"' in make  # the test suite's install has it


def test_without_ray_the_engine_says_what_to_install(tmp_path):
    from captcha_solver.generator import generate_dataset

    generate_dataset(tmp_path / "caps", 2, seed=1, workers=1)
    add_bad_files(tmp_path / "caps")  # their error rows are not written either
    script = (
        "import sys; sys.modules['ray'] = None\n"  # as if the extra were not installed
        "from captcha_solver.cli import main\n"
        "sys.argv = ['captcha-solver', 'predict', '--dataset', 'caps', '--engine', 'ray']\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "pip install 'captcha-solver[ray]'" in result.stderr
    assert not (tmp_path / "data" / "results.csv").exists()  # nothing half-done


# ------------------------------------------------------------------ CLI checks
@pytest.mark.parametrize(
    "args, message",
    [
        (["--dataset", "d", "--address", "127.0.0.1:6379"], "--address is the Ray cluster of --engine ray"),
        (["--dataset", "d", "--results", "rows.parquet"], "Parquet results are written by --engine ray"),
        (["--image", "a.png", "--engine", "ray"], "--engine ray reads a --dataset folder"),
    ],
)
def test_engine_options_are_checked_before_anything_runs(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["predict", *args])
    assert result.exit_code == 2 and message in result.output


def test_an_address_where_no_cluster_listens_is_a_clear_error(tmp_path):
    pytest.importorskip("ray.data")
    from captcha_solver.generator import generate_dataset
    from tests.ray_batch.cluster import free_port

    generate_dataset(tmp_path / "caps", 2, seed=1, workers=1)
    address = f"127.0.0.1:{free_port()}"
    command = [sys.executable, str(ROOT / "model.py"), "predict", "--dataset", "caps", "--engine", "ray"]
    result = subprocess.run(
        [*command, "--address", address], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert f"cannot reach the Ray cluster at {address}" in result.stderr
    assert not (tmp_path / "data" / "results.csv").exists()
    bad = subprocess.run([*command, "--address", "nowhere"], cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode == 1 and "expected HOST:PORT" in bad.stderr


def test_a_folder_with_nothing_to_read_gets_its_error_rows_without_starting_ray(tmp_path, monkeypatch):
    pytest.importorskip("ray.data")
    from captcha_solver.distributed import _run

    def no_session(*args, **kwargs):
        raise AssertionError("no Ray session is needed when no file is an image")

    monkeypatch.setattr(_run, "ray_session", no_session)
    (tmp_path / "caps").mkdir()
    (tmp_path / "caps" / "notes.txt").write_text("x")
    (tmp_path / "caps" / "nested").mkdir()
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["predict", "--dataset", "caps", "--engine", "ray", "--results", "r.csv"]
    )
    assert result.exit_code == 0, result.output
    rows = read_results(tmp_path / "r.csv")
    assert [(Path(r["file"]).name, r["status"]) for r in rows] == [
        ("nested", "error"),
        ("notes.txt", "error"),
    ]


# ------------------------------------------------------------------ the actor
def test_the_actor_reads_a_block_as_a_local_run_does(tmp_path):
    pa = pytest.importorskip("pyarrow")
    from captcha_solver.distributed._actor import BlockReader, from_wire
    from captcha_solver.generator import generate_dataset

    generate_dataset(tmp_path, 3, seed=9, workers=1)
    add_bad_files(tmp_path)
    odd = os.fsdecode(bytes(tmp_path) + b"/odd\xff.png")
    shutil.copy(next(tmp_path.glob("*.png")), odd)
    paths = sorted(str(p) for p in tmp_path.iterdir() if p.suffix == ".png") + [str(tmp_path / "gone.png")]
    reader = BlockReader(str(shipped_model_dir()), Config())
    table = reader(pa.table({"path": pa.array([os.fsencode(p) for p in paths], pa.binary())}))
    rows = [from_wire(r) for r in table.to_pylist()]
    model = Model.load(shipped_model_dir(), Config())
    expected = [csv_row(model.read_row(p, name=p)) for p in paths]
    keys = ("file", "prediction", "confidence", "char_confidences", "reader", "status", "error")
    assert [[r[k] for k in keys] for r in rows] == [[r[k] for k in keys] for r in expected]
    assert {r["file"] for r in rows if r["status"] == "ok"} >= {odd}
    errors = {os.path.basename(r["file"]): r["error"] for r in rows if r["status"] == "error"}
    assert set(errors) == {"empty.png", "notanimage.png", "truncated.png", "gone.png"}
    assert "file not found" in errors["gone.png"]


# ------------------------------------------------------------------ Parquet
def test_parquet_rows_are_appended_and_a_foreign_file_is_refused(tmp_path):
    pytest.importorskip("pyarrow")
    from captcha_solver.distributed import append_parquet, read_parquet_results

    out = tmp_path / "rows.parquet"
    odd = os.fsdecode(b"/data/odd\xff\nname.png")
    first = {"file": odd, "prediction": "=1+1", "confidence": 0.5, "char_confidences": [0.25, 0.75],
             "latency_ms": 3.0, "reader": "classical", "status": "ok", "error": ""}  # fmt: skip
    assert append_parquet(out, [first]) == 1
    assert append_parquet(out, [{**first, "file": "b.png", "status": "error", "error": "b.png: empty"}]) == 1
    rows = read_parquet_results(out)
    assert [r["file"] for r in rows] == [odd, "b.png"]  # the name's bytes come back exactly
    assert rows[0]["prediction"] == "=1+1" and rows[0]["char_confidences"] == [0.25, 0.75]
    assert rows[1]["error"] == "b.png: empty" and all(r["timestamp"] for r in rows)

    foreign = tmp_path / "theirs.parquet"
    foreign.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="theirs.parquet: existing file is not a Parquet results file"):
        append_parquet(foreign, [first])
    assert foreign.read_text() == "a,b\n1,2\n"
    import pyarrow as pa
    import pyarrow.parquet as pq

    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1]}), other)
    before = other.read_bytes()
    with pytest.raises(ValueError, match="other.parquet: existing Parquet file has the columns x"):
        append_parquet(other, [first])
    assert other.read_bytes() == before


# ------------------------------------------------------------------ a local Ray instance
@pytest.mark.timeout(180)
def test_without_an_address_a_local_ray_instance_reads_the_folder(tmp_path):
    pytest.importorskip("ray.data")
    from captcha_solver.generator import generate_dataset

    caps = tmp_path / "caps"
    generate_dataset(caps, 12, seed=4, workers=1)
    add_bad_files(caps)
    ray_temp = tempfile.mkdtemp(prefix="rb", dir="/tmp")  # short: Ray puts Unix sockets under it
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled", RAY_TMPDIR=ray_temp)
    runs = {}
    try:
        for engine in ("local", "ray"):
            command = [sys.executable, str(ROOT / "model.py"), "predict", "--dataset", str(caps)]
            command += ["--engine", engine, "--workers", "1", "--results", f"{engine}.csv"]
            result = subprocess.run(
                command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=150
            )
            assert result.returncode == 0, result.stderr[-3000:]
            runs[engine] = read_results(tmp_path / f"{engine}.csv")
    finally:
        shutil.rmtree(ray_temp, ignore_errors=True)
    keys = ("file", "prediction", "confidence", "status", "error")
    assert [[r[k] for k in keys] for r in runs["ray"]] == [[r[k] for k in keys] for r in runs["local"]]
    assert len(runs["ray"]) == 12 + len(BAD_FILES)
