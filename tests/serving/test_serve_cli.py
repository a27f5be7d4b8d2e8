"""``python model.py serve`` from a user's point of view: start-up time and start-up errors."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
from api_server import REPO, Server


def test_cold_start_to_first_answer(tmp_path, trained_model_dir, captcha_dir):
    server = Server(tmp_path, trained_model_dir)
    try:
        image = min(captcha_dir.glob("*.png")).read_bytes()
        server.wait_ready()
        response = httpx.post(server.url + "/predict", files={"file": ("a.png", image, "image/png")})
        assert response.status_code == 200
        seconds = time.perf_counter() - server.started
    finally:
        server.stop()
    # The issue asks for <= 3 s; the test allows for a loaded CI machine (bench/load_test.py reports the figure).
    assert seconds < 15, f"cold start to first answer took {seconds:.1f} s"


def test_missing_model_is_a_clean_error(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "model.py"),
            "serve",
            "--port",
            "0",
            "--model-dir",
            str(tmp_path / "nothing"),
        ],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Error:" in result.stderr and "nothing" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_config_is_a_clean_error(tmp_path, trained_model_dir):
    bad = tmp_path / "config.yaml"
    bad.write_text("serving:\n  port: 99999\n", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "model.py"),
            "--config",
            str(bad),
            "serve",
            "--model-dir",
            str(trained_model_dir),
        ],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "serving.port" in result.stderr and "Traceback" not in result.stderr


def test_idle_keep_alive_connection_is_kept_longer_than_a_proxy_would(server):
    # uvicorn's default closes idle connections after 5 s; a client or proxy (nginx: 60 s) reusing
    # the connection just then gets a ReadError or 502. The server must keep it open longer.
    import socket

    request = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for attempt in range(2):
            sock.sendall(request)
            reply = b""
            while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
                chunk = sock.recv(4096)
                assert chunk, f"connection closed by the server before answer {attempt + 1}"
                reply += chunk
            assert reply.startswith(b"HTTP/1.1 200")
            if attempt == 0:
                time.sleep(6)
