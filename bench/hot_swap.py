"""Hot swap under load: a real API process follows ``models:/captcha-solver@champion`` while the alias moves twice.

    python bench/hot_swap.py [--clients 50] [--seconds 60] [--poll 1.0]

A temporary SQLite registry gets three versions (the shipped model registered three
times: the files are the same, the version labels differ, which is what this measures);
``python model.py serve --model models:/captcha-solver@champion`` starts on version 1
with ``registry.poll_seconds = --poll``. ``--clients`` threads post generated captchas
for ``--seconds`` seconds; the champion moves to version 2 at one third of the run and
to version 3 at two thirds. Printed: total and failed requests (any non-200 answer or
transport error), answers per version, answers without a version, and for each move the
delay from the move until the last answer of the old version (and how many requests that
started more than poll + 5 s after the move were still read by the old version: 0 expected).
Nothing is written outside a temporary folder.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from captcha_solver.artifacts import load_manifest  # noqa: E402
from captcha_solver.generator import generate_dataset  # noqa: E402
from captcha_solver.inference import shipped_model_dir  # noqa: E402
from captcha_solver.registry import Registry, version_tags  # noqa: E402
from captcha_solver.settings import Config, apply_overrides, save_config  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API exited with {proc.returncode}")
        try:
            if httpx.get(url + "/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the API did not start")


def run(clients: int, seconds: float, poll: float, work: Path) -> dict:
    """Run the measurement in ``work``; the figures as a dict."""
    overrides = {
        "registry.uri": f"sqlite:///{work}/registry/mlflow.db",
        "registry.artifacts_dir": str(work / "registry" / "artifacts"),
        "registry.cache_dir": str(work / "registry" / "cache"),
        "registry.poll_seconds": poll,
        "paths.log_file": str(work / "log_file.log"),
        "paths.results_csv": str(work / "results.csv"),
        "logging.console": False,
        "tracking.wandb_mode": "disabled",
    }
    config = apply_overrides(Config(), overrides)
    save_config(config, work / "config.yaml")
    registry = Registry(config.registry)
    folder = shipped_model_dir()
    for _ in range(3):
        registry.register(
            folder, tags=version_tags(load_manifest(folder), folder), description="bench", metrics={}
        )
    images = [Path(p).read_bytes() for p in generate_dataset(work / "captchas", 40, seed=5, workers=1)]

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CAPTCHA_API_KEY": ""}
    command = [sys.executable, str(ROOT / "model.py"), "--config", str(work / "config.yaml"), "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--model", "models:/captcha-solver@champion"]
    with open(work / "server.err", "wb") as err:
        proc = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        _wait_ready(url, proc)
        answers: list[tuple[float, float, int, str]] = []  # (started, ended, status, version)
        lock = threading.Lock()
        stop = threading.Event()

        def client(k: int) -> None:
            with httpx.Client(timeout=60.0) as http:
                i = k
                while not stop.is_set():
                    started = time.monotonic()
                    try:
                        answer = http.post(
                            url + "/predict", files={"file": (f"{i}.png", images[i % len(images)])}
                        )
                        status, version = answer.status_code, answer.json().get("model_version", "")
                    except (httpx.HTTPError, ValueError):
                        status, version = 0, ""
                    with lock:
                        answers.append((started, time.monotonic(), status, version))
                    i += clients

        threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
        begin = time.monotonic()
        for thread in threads:
            thread.start()
        moves = []
        for version, at in ((2, seconds / 3), (3, 2 * seconds / 3)):
            time.sleep(max(0.0, begin + at - time.monotonic()))
            registry.promote(version)
            moves.append((version, time.monotonic()))
        time.sleep(max(0.0, begin + seconds - time.monotonic()))
        stop.set()
        for thread in threads:
            thread.join(120)
    finally:
        proc.terminate()
        proc.wait(30)

    per_version = collections.Counter(v for _, _, s, v in answers if s == 200)
    report = {
        "clients": clients,
        "seconds": seconds,
        "poll_seconds": poll,
        "total_requests": len(answers),
        "failed_requests": sum(s != 200 for _, _, s, _ in answers),
        "answers_without_version": sum(s == 200 and not v for _, _, s, v in answers),
        "answers_per_version": dict(sorted(per_version.items())),
        "moves": [],
    }
    for (version, moved), old in zip(moves, (1, 2)):
        old_label = f"models:/captcha-solver/{old}"
        last_old = max((end for _, end, s, v in answers if s == 200 and v == old_label), default=moved)
        late = sum(1 for t, _, s, v in answers if v == old_label and t > moved + poll + 5)
        report["moves"].append(
            {
                "to_version": version,
                "last_old_answer_after_move_s": round(last_old - moved, 3),
                "old_version_answers_started_after_move_plus_poll_plus_5s": late,
            }
        )
    report["largest_delay_move_to_last_old_answer_s"] = max(
        m["last_old_answer_after_move_s"] for m in report["moves"]
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--poll", type=float, default=1.0, help="registry.poll_seconds of the API")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hot-swap-") as tmp:
        report = run(args.clients, args.seconds, args.poll, Path(tmp))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
