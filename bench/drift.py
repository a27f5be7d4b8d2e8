"""Does the drift score see a changed captcha, and stay quiet on the model's own style?

    python model.py generate --out /tmp/seed21 --count 2000 --seed 21 \\
        --background ../shared/datasets/seed-generator/base-img.png \\
        --font ../shared/datasets/seed-generator/arial.ttf
    python bench/drift.py --own /tmp/seed21 --other ../shared/datasets/captcha_images_v2/train \\
        --own-count 2000 --other-count 500

Starts ``python model.py serve`` on 127.0.0.1 with the model (default: the shipped
one, whose baseline is 1,000 seed-style captchas of seed 77) and the default
``monitoring`` settings (window 500, min_fill 100, unless ``--window``/``--min-fill``),
sends the ``--own`` captchas (the style the model was trained on), then the
``--other`` ones (another style, e.g. the real-site captchas), one request at a
time, and reads ``captcha_drift_score`` from ``GET /metrics`` every ``--every``
answers. Prints the highest score over the own-style traffic, and after how many
other-style answers the score first went over the alert threshold (0.25, the
``CaptchaDrift`` rule of deploy/prometheus/rules.yml; the rule then waits its
``for: 2m`` before it fires). Exit status 1 if the own style crossed the threshold
or the other style never did.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from captcha_solver.image_io import list_images  # noqa: E402
from captcha_solver.monitoring import DRIFT_ALERT  # noqa: E402
from captcha_solver.settings import Config  # noqa: E402


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(model_dir: Path | None, root: Path, window: int, min_fill: int) -> tuple[subprocess.Popen, str]:
    config = root / "config.yaml"
    config.write_text(
        f"paths:\n  results_csv: {root / 'results.csv'}\n  log_file: {root / 'log_file.log'}\n"
        f"logging:\n  console: false\ntracking:\n  wandb_mode: disabled\n"
        f"monitoring:\n  window: {window}\n  min_fill: {min_fill}\n",
        encoding="utf-8",
    )
    port = _free_port()
    args = [sys.executable, str(REPO / "model.py"), "--config", str(config), "serve"]
    args += ["--host", "127.0.0.1", "--port", str(port)]
    if model_dir is not None:
        args += ["--model-dir", str(model_dir)]
    server = subprocess.Popen(
        args, cwd=root, stdout=subprocess.DEVNULL, stderr=open(root / "server.err", "wb")
    )  # noqa: SIM115
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the API exited: {(root / 'server.err').read_text()[-2000:]}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the API did not start within 120 s")


def _score(client: httpx.Client, url: str) -> float | None:
    for line in client.get(url + "/metrics").text.splitlines():
        if line.startswith("captcha_drift_score{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def _serve(client, url, paths, every: int, log: list, phase: str) -> None:
    for i, path in enumerate(paths, 1):
        response = client.post(url + "/predict", files={"file": (path.name, path.read_bytes())})
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.text[:200]}")
        if i % every == 0 or i == len(paths):
            log.append({"phase": phase, "answers": i, "score": _score(client, url)})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--own", type=Path, required=True, help="Captchas of the model's own style.")
    parser.add_argument("--other", type=Path, required=True, help="Captchas of another style.")
    parser.add_argument("--own-count", type=int, default=2000)
    parser.add_argument("--other-count", type=int, default=500)
    parser.add_argument("--model-dir", type=Path, default=None, help="Default: the shipped model.")
    parser.add_argument("--window", type=int, default=Config().monitoring.window)
    parser.add_argument("--min-fill", type=int, default=Config().monitoring.min_fill)
    parser.add_argument("--every", type=int, default=10, help="Read the score every N answers.")
    parser.add_argument("--json", type=Path, help="Also write the figures and the score series here.")
    args = parser.parse_args(argv)
    own = list_images(args.own)[0][: args.own_count]
    other = list_images(args.other)[0][: args.other_count]
    root = Path(tempfile.mkdtemp(prefix="drift-bench-"))
    server, url = _start(args.model_dir, root, args.window, args.min_fill)
    log: list[dict] = []
    started = time.perf_counter()
    try:
        with httpx.Client(timeout=60) as client:
            _serve(client, url, own, args.every, log, "own")
            _serve(client, url, other, args.every, log, "other")
    finally:
        server.terminate()
        server.wait(timeout=30)
    own_scores = [e["score"] for e in log if e["phase"] == "own" and e["score"] is not None]
    crossed = next(
        (e["answers"] for e in log if e["phase"] == "other" and (e["score"] or 0) > DRIFT_ALERT), None
    )
    figures = {
        "own_answers": len(own),
        "other_answers": len(other),
        "window": args.window,
        "min_fill": args.min_fill,
        "own_max_score": max(own_scores, default=None),
        "own_final_score": own_scores[-1] if own_scores else None,
        "other_answers_to_cross": crossed,
        "other_final_score": log[-1]["score"],
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(
        f"own style: {len(own)} answers, drift score max {figures['own_max_score']:.3f} "
        f"(final {figures['own_final_score']:.3f}; threshold {DRIFT_ALERT})"
    )
    if crossed is None:
        print(
            f"other style: {len(other)} answers, the score never went over {DRIFT_ALERT} (final {log[-1]['score']})"
        )
    else:
        print(
            f"other style: the score went over {DRIFT_ALERT} after {crossed} answers (read every {args.every}); "
            f"final {figures['other_final_score']:.3f} after {len(other)}; window {args.window}, "
            f"{figures['seconds']} s in all"
        )
    if args.json:
        args.json.write_text(json.dumps({"figures": figures, "series": log}, indent=1), encoding="utf-8")
    return 0 if crossed is not None and figures["own_max_score"] < DRIFT_ALERT else 1


if __name__ == "__main__":
    raise SystemExit(main())
