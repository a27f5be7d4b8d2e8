"""The UI started as a user starts it (``python model.py ui``) on 127.0.0.1, and a headless Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# No background traffic: this machine's network is closed and Chromium would retry for ever.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(root: Path) -> Path:
    config = root / "config.yaml"
    config.write_text(
        f"paths:\n  results_csv: {root / 'results.csv'}\n  log_file: {root / 'log_file.log'}\n"
        "logging:\n  console: false\ntracking:\n  wandb_mode: disabled\n",
        encoding="utf-8",
    )
    return config


class UiServer:
    def __init__(self, root: Path, model_dir: Path, *, public: bool = False, env: dict | None = None):
        self.root = root
        self.config = write_config(root)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        args = [
            sys.executable,
            str(REPO / "model.py"),
            "--config",
            str(self.config),
            "ui",
            "--no-browser",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--model-dir",
            str(model_dir),
        ]
        if public:
            args.append("--public")
        self.log = open(root / "ui.log", "wb")  # noqa: SIM115 - lives as long as the server
        full_env = {
            **os.environ,
            "GRADIO_ANALYTICS_ENABLED": "False",
            "CAPTCHA_ADMIN_TOKEN": "",
            **(env or {}),
        }
        self.process = subprocess.Popen(
            args, cwd=root, env=full_env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ui exited with {self.process.returncode}: {self.output()}")
            try:
                if httpx.get(self.url, timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"ui not ready: {self.output()}")

    def output(self) -> str:
        self.log.flush()
        return (self.root / "ui.log").read_text(errors="replace")[-3000:]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def start_ui(tmp_path_factory, trained_model_dir):
    servers = []

    def start(**kwargs) -> UiServer:
        server = UiServer(tmp_path_factory.mktemp("ui"), trained_model_dir, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright through its executable path (no browser download)."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM} (Debian package 'chromium': apt-get install chromium)"
        )
    pytest.importorskip("gradio", reason="the UI needs the 'ui' extra: pip install -e '.[ui]'")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the Python package 'playwright' is not installed"
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()
