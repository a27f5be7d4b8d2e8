"""A real ``python model.py serve`` subprocess on 127.0.0.1 (shared by the API tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A ``python model.py serve`` subprocess on 127.0.0.1 and its files."""

    def __init__(self, root: Path, model_dir: Path, *, settings: dict | None = None, env: dict | None = None):
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.results_csv = root / "results.csv"
        self.log_file = root / "log_file.log"
        lines = [
            "paths:",
            f"  results_csv: {self.results_csv}",
            f"  log_file: {self.log_file}",
            "logging:",
            "  console: false",
            "tracking:",
            "  wandb_mode: disabled",
        ]
        for section, values in (settings or {}).items():
            lines.append(f"{section}:")
            lines.extend(f"  {k}: {v}" for k, v in values.items())
        self.config = root / "config.yaml"
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.stderr = open(root / "server.err", "wb")  # noqa: SIM115 - lives as long as the server
        full_env = {**os.environ, "CAPTCHA_API_KEY": "", **(env or {})}
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "model.py"),
                "--config",
                str(self.config),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--model-dir",
                str(model_dir),
            ],
            cwd=root,
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
        )

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds from the start of the process until /health answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.errors()}")
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return time.perf_counter() - self.started
            except httpx.TransportError:
                time.sleep(0.05)
        raise TimeoutError(f"server not ready after {timeout} s: {self.errors()}")

    def errors(self) -> str:
        self.stderr.flush()
        return (self.root / "server.err").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.stderr.close()
