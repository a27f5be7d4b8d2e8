"""Real processes on loopback for the monitoring tests: the API (``python model.py serve``) and Debian's Prometheus."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = Path("/usr/bin/prometheus")
RULES = REPO / "deploy" / "prometheus" / "rules.yml"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A subprocess whose stderr goes to a file, stopped with SIGINT (then killed)."""

    def __init__(self, args: list[str], root: Path, name: str, env: dict | None = None):
        self.root = root
        self.log = root / f"{name}.err"
        self._stderr = open(self.log, "wb")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(
            args, cwd=root, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=self._stderr
        )

    def wait_http(self, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.log.stem} exited with {self.process.returncode}: {self.errors()}")
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{url} not ready after {timeout} s: {self.errors()}")

    def errors(self) -> str:
        self._stderr.flush()
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()


def start_api(root: Path, model_dir: Path, settings: dict) -> tuple[Process, str]:
    """``python model.py serve`` on a free loopback port with ``settings`` (section -> values); (process, url)."""
    config = {
        "paths": {"results_csv": str(root / "results.csv"), "log_file": str(root / "log_file.log")},
        "logging": {"console": False},
        "tracking": {"wandb_mode": "disabled"},
        **settings,
    }
    (root / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    args = [sys.executable, str(REPO / "model.py"), "--config", str(root / "config.yaml"), "serve"]
    args += ["--host", "127.0.0.1", "--port", str(port), "--model-dir", str(model_dir)]
    api = Process(args, root, "api", env={"CAPTCHA_API_KEY": ""})
    url = f"http://127.0.0.1:{port}"
    api.wait_http(url + "/health")
    return api, url


def start_prometheus(root: Path, targets: list[str], interval: str = "1s") -> tuple[Process, str]:
    """Debian's Prometheus scraping ``targets`` with the project's alert rules; (process, url).

    The rules are deploy/prometheus/rules.yml with every ``for`` set to 0s (the test cannot
    wait minutes); their expressions are the file's own.
    """
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("for", None)
    (root / "rules.yml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(root / "rules.yml")],
        "scrape_configs": [{"job_name": "captcha-api", "static_configs": [{"targets": targets}]}],
    }
    (root / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    args = [
        str(PROMETHEUS),
        f"--config.file={root / 'prometheus.yml'}",
        f"--storage.tsdb.path={root / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    prometheus = Process(args, root, "prometheus")
    url = f"http://127.0.0.1:{port}"
    prometheus.wait_http(url + "/-/ready")
    return prometheus, url


def query(url: str, path: str, **params) -> dict:
    """``GET url+path`` of Prometheus' HTTP API; its ``data``."""
    answer = httpx.get(url + path, params=params, timeout=10).json()
    assert answer["status"] == "success", answer
    return answer["data"]
