"""Load test of the HTTP API on loopback: N concurrent clients for T seconds.

Starts ``python model.py serve`` on 127.0.0.1 (or uses ``--url``, which must be
a loopback address), measures the cold start to the first answer, runs the
clients, then reports p50/p99 latency, requests/s and failures, the server's
RSS after the run, and checks that ``results.csv`` holds exactly one
well-formed row per request::

    python bench/load_test.py --model-dir captcha_solver/shipped_model --clients 50 --duration 60

Exit status 1 if any request failed, the CSV check failed, or a limit
(``--max-rss-mb``, ``--max-cold-start-s``) was exceeded.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from captcha_solver.common import RESULTS_COLUMNS  # noqa: E402 - after the sys.path line

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), in MB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def start_server(
    model_dir: str, results_csv: Path, workers: int, image: bytes
) -> tuple[subprocess.Popen, str, float]:
    """Start the API and wait for its first answer to a real /predict; returns (process, url, cold start s)."""
    root = results_csv.parent
    config = root / "config.yaml"
    config.write_text(
        f"paths:\n  results_csv: {results_csv}\n  log_file: {root / 'log_file.log'}\n"
        "logging:\n  console: false\ntracking:\n  wandb_mode: disabled\n",
        encoding="utf-8",
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "model.py"),
            "--config",
            str(config),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--model-dir",
            model_dir,
            "--workers",
            str(workers),
        ],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=open(root / "server.err", "wb"),  # noqa: SIM115
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {(root / 'server.err').read_text()[-2000:]}")
        try:
            response = httpx.post(
                url + "/predict", files={"file": ("warmup.png", image, "image/png")}, timeout=5
            )
            if response.status_code == 200:
                return process, url, time.perf_counter() - started
        except httpx.TransportError:
            time.sleep(0.02)
    process.kill()
    raise SystemExit("server did not answer within 60 s")


async def run_load(url: str, images: list[bytes], clients: int, duration: float) -> dict:
    latencies: list[float] = []
    failures: Counter = Counter()
    names: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        stop_at = time.perf_counter() + duration

        async def worker(k: int) -> None:
            i = 0
            while time.perf_counter() < stop_at:
                name = f"c{k:02d}-{i:05d}.png"
                i += 1
                names.append(name)
                t0 = time.perf_counter()
                try:
                    response = await client.post(
                        "/predict", files={"file": (name, images[i % len(images)], "image/png")}
                    )
                    if response.status_code != 200:
                        failures[f"HTTP {response.status_code}"] += 1
                    elif response.json().get("name") != name:
                        failures["wrong name in answer"] += 1
                except httpx.HTTPError as exc:
                    failures[type(exc).__name__] += 1
                latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(clients)))
        elapsed = time.perf_counter() - started
    lat = np.array(latencies) * 1e3
    return {
        "requests": len(latencies),
        "failures": sum(failures.values()),
        "failure_kinds": dict(failures),
        "seconds": round(elapsed, 2),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 1),
        "p90_ms": round(float(np.percentile(lat, 90)), 1),
        "p99_ms": round(float(np.percentile(lat, 99)), 1),
        "max_ms": round(float(lat.max()), 1),
        "names": names,
    }


def server_quantiles(url: str, quantiles=(0.5, 0.99)) -> dict:
    """Server-side /predict latency quantiles (upper bucket bounds, ms) from the Prometheus histogram.

    Set against the client's figures, this separates time in the server
    (queueing for a worker thread included) from time in the client and the network.
    """
    text = httpx.get(url + "/metrics", timeout=10).text
    buckets = []
    for line in text.splitlines():
        if line.startswith("captcha_http_request_duration_seconds_bucket") and 'route="/predict"' in line:
            le = line.split('le="')[1].split('"')[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0
    out = {}
    for q in quantiles:
        bound = next((b for b, count in buckets if count >= q * total), float("inf"))
        out[f"server_p{int(q * 100)}_ms_at_most"] = bound * 1e3
    return out


def check_results_csv(path: Path, expected_names: list[str]) -> list[str]:
    """Problems found in results.csv: one well-formed row per request, nothing lost, duplicated or interleaved."""
    problems = []
    raw = path.read_bytes()
    if not raw.endswith(b"\n"):
        problems.append("file does not end with a newline (a partial row)")
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    if tuple(header) != RESULTS_COLUMNS:
        problems.append(f"header is {header}")
    bad = [r for r in rows if len(r) != len(RESULTS_COLUMNS)]
    if bad:
        problems.append(f"{len(bad)} rows with a wrong number of cells, e.g. {bad[0]}")
    rows = [dict(zip(RESULTS_COLUMNS, r)) for r in rows if len(r) == len(RESULTS_COLUMNS)]
    load_rows = [r for r in rows if r["file"] != "warmup.png"]
    got, want = Counter(r["file"] for r in load_rows), Counter(expected_names)
    if got != want:
        missing, extra = want - got, got - want
        problems.append(
            f"rows do not match requests: {sum(missing.values())} missing, {sum(extra.values())} extra"
        )
    # "error" is a valid outcome (an image where the model finds no text); anything else is a broken row.
    odd = [
        r
        for r in load_rows
        if r["status"] not in ("ok", "error") or (r["status"] == "error") != bool(r["error"])
    ]
    if odd:
        problems.append(f"{len(odd)} rows with an unexpected status/error pair, e.g. {odd[0]}")
    for r in load_rows:
        try:
            float(r["confidence"]), float(r["latency_ms"])
            [float(c) for c in r["char_confidences"].split(";") if c]
        except ValueError:
            problems.append(f"malformed numbers in row {r}")
            break
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model-dir",
        default=str(REPO / "captcha_solver" / "shipped_model"),
        help="Model folder the server loads (default: the shipped model).",
    )
    parser.add_argument(
        "--dataset", default=None, help="Captchas to send (default: 20 fresh ones from the generator)."
    )
    parser.add_argument(
        "--url", default=None, help="Use a running server on loopback instead (no RSS/CSV checks)."
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds of load.")
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes of the started server."
    )
    parser.add_argument("--max-rss-mb", type=float, default=400.0)
    parser.add_argument("--max-cold-start-s", type=float, default=3.0)
    parser.add_argument("--json-out", default=None, help="Also write the figures as JSON.")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="captcha-load-"))
    if args.dataset:
        files = sorted(Path(args.dataset).glob("*.png"))[:50]
    else:
        from captcha_solver.generator import generate_dataset

        files = [Path(p) for p in generate_dataset(work / "captchas", 20, seed=7, workers=1)]
    if not files:
        raise SystemExit(f"no .png captchas in {args.dataset}")
    images = [f.read_bytes() for f in files]

    process = None
    report: dict = {"clients": args.clients, "duration_s": args.duration}
    if args.url:
        host = urlparse(args.url).hostname
        if host not in LOOPBACK:
            raise SystemExit(f"--url must be a loopback address (127.0.0.1), got {host!r}")
        url = args.url
    else:
        results_csv = work / "results.csv"
        process, url, cold = start_server(
            str(Path(args.model_dir).resolve()), results_csv, args.workers, images[0]
        )
        report["cold_start_to_first_answer_s"] = round(cold, 2)
        report["rss_mb_before"] = round(_rss_mb(process.pid), 1)
    try:
        load = asyncio.run(run_load(url, images, args.clients, args.duration))
        names = load.pop("names")
        report.update(load)
        report.update(server_quantiles(url))
        if process is not None:
            report["rss_mb_after"] = round(_rss_mb(process.pid), 1)
    finally:
        if process is not None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
    ok = report["failures"] == 0
    if process is not None:
        problems = check_results_csv(results_csv, names)
        report["results_csv"] = str(results_csv)
        report["results_csv_problems"] = problems
        ok = ok and not problems
        ok = ok and report["rss_mb_after"] <= args.max_rss_mb
        ok = ok and report["cold_start_to_first_answer_s"] <= args.max_cold_start_s
    report["passed"] = ok
    text = json.dumps(report, indent=2)
    print(text)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
