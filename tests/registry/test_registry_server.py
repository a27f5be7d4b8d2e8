"""The same registry code against a real ``mlflow server`` (started here on loopback, SQLite + artifacts in tmp)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from registry_helpers import config_file, registry_overrides

from captcha_solver.cli import cli
from captcha_solver.inference import shipped_model_dir
from captcha_solver.settings import Config, apply_overrides
from captcha_solver.solver import My_CaptchaSolver_Model


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    """The URL of an MLflow tracking server process (one worker) with its store and artifacts under tmp."""
    port = _free_port()
    mlflow = Path(sys.executable).with_name("mlflow")
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            str(mlflow),
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp_path}/server.db",
            "--artifacts-destination",
            str(tmp_path / "server-artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start: {(tmp_path / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url, tmp_path
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_register_promote_and_resolve_through_a_server(mlflow_server, tmp_path):
    url, server_dir = mlflow_server
    overrides = {**registry_overrides(tmp_path / "client"), "registry.uri": url}
    path = config_file(tmp_path, overrides)
    config = apply_overrides(Config(), overrides)
    run = CliRunner().invoke
    for _ in range(2):
        done = run(cli, ["--config", str(path), "models", "register", str(shipped_model_dir())])
        assert done.exit_code == 0, done.output
    assert run(cli, ["--config", str(path), "models", "promote", "2"]).exit_code == 0
    listed = run(cli, ["--config", str(path), "models", "list"])
    assert [line.split()[:2] for line in listed.output.splitlines()[1:]] == [["1", "-"], ["2", "champion"]]
    solver = My_CaptchaSolver_Model("models:/captcha-solver@champion", config).load()
    assert solver.model_version == "models:/captcha-solver/2"
    # The files went through the server into its artifact store, and came back into the client's cache.
    assert list((server_dir / "server-artifacts").rglob("glyph_classifier.onnx"))
    assert solver.model_.folder == tmp_path / "client" / "reg" / "cache" / "captcha-solver" / "2"
    assert not (tmp_path / "client" / "reg" / "artifacts").exists()  # a server keeps its own
    from captcha_solver.generator import generate_dataset

    (image,) = generate_dataset(tmp_path / "one", 1, seed=3, workers=1)
    assert solver.read(image).text == Path(image).stem
