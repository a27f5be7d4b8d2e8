"""Figures of the Docker deployment: image sizes, build time, API cold start, a load run through the proxy.

Runs against the engine ``$DOCKER_HOST`` names (``.ci/run``'s, or one started the
same way: host network only, so every address here is a loopback one)::

    python deploy/measure.py --build --duration 60 --clients 50 [--no-cache] [--json-out FILE]

``--build`` (re)builds the API, UI and proxy images on ``--base`` with the classic
builder and times each build (``--no-cache``: from nothing but the base image).
The cold start is ``docker run`` of the API image to its first ``/predict``
answer (median of ``--cold-runs``). The load run brings up the compose stack as
CI does (docker-compose.yaml + deploy/compose.test.yaml: two API services behind
nginx), sends ``--clients`` concurrent clients for ``--duration`` seconds through
the proxy (bench/load_test.py's client), checks that the shared results.csv holds
exactly one row per request, and takes the stack down. Exit status 1 if any
request failed or the CSV check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def _load_test_module():
    """bench/load_test.py's client and results.csv check (one implementation of both)."""
    spec = importlib.util.spec_from_file_location("load_test", REPO / "bench" / "load_test.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def docker(*args, check=True, timeout=1800, env=None) -> subprocess.CompletedProcess:
    cli = os.environ.get("DOCKER") or ("/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker")
    result = subprocess.run(
        [cli, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise SystemExit(
            f"docker {' '.join(map(str, args))} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return result


def build(tags: dict, base: str, no_cache: bool) -> dict:
    seconds = {}
    proxy_base = base if base != "python:3.11-slim" else "debian:bookworm-slim"
    plan = [
        ("api", REPO, ["--target", "api", "--build-arg", f"BASE_IMAGE={base}"]),
        ("ui", REPO, ["--target", "ui", "--build-arg", f"BASE_IMAGE={base}"]),
        ("proxy", REPO / "deploy" / "proxy", ["--build-arg", f"BASE_IMAGE={proxy_base}"]),
    ]
    for name, context, extra in plan:
        started = time.monotonic()
        docker(
            "build",
            "--network",
            "host",
            *(["--no-cache"] if no_cache else []),
            "-t",
            tags[name],
            "--build-arg",
            f"VERSION={VERSION}",
            *extra,
            context,
            env={"DOCKER_BUILDKIT": "0"},
        )
        seconds[name] = round(time.monotonic() - started, 1)
    return seconds


def sizes(tags: dict, base: str) -> dict:
    out = {}
    for name, tag in {**tags, "base": base}.items():
        out[name] = f"{int(docker('image', 'inspect', '--format', '{{.Size}}', tag).stdout) / 1e6:.0f} MB"
    return out


def make_captchas(image: str, root: Path, count: int) -> list[Path]:
    """Captchas from the project's generator, made by the image's own CLI."""
    docker(
        "run",
        "--rm",
        "--network",
        "host",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--user",
        f"{os.getuid()}:{os.getgid()}",
        "-v",
        f"{root}:/out",
        image,
        "generate",
        "--out",
        "/out/captchas",
        "--count",
        count,
        "--seed",
        7,
    )
    return sorted((root / "captchas").glob("*.png"))


def cold_start(image: str, captcha: Path, runs: int) -> list[float]:
    """Seconds from `docker run` to the first /predict answer of a new API container."""
    times = []
    for _ in range(runs):
        port = free_port()
        with tempfile.TemporaryDirectory() as data:
            os.chmod(data, 0o777)
            started = time.monotonic()
            cid = docker(
                "run",
                "-d",
                "--network",
                "host",
                "--read-only",
                "--tmpfs",
                "/tmp",
                "-v",
                f"{data}:/app/data",
                image,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                port,
            ).stdout.strip()
            try:
                while True:
                    try:
                        response = httpx.post(
                            f"http://127.0.0.1:{port}/predict",
                            timeout=5,
                            files={"file": ("cold.png", captcha.read_bytes(), "image/png")},
                        )
                        if response.status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() - started > 120:
                        raise SystemExit("the API container did not answer within 120 s")
                    time.sleep(0.02)
                times.append(round(time.monotonic() - started, 2))
            finally:
                docker("rm", "-f", cid, check=False)
    return times


def load_through_proxy(tags: dict, images: list[bytes], clients: int, duration: float) -> dict:
    load_test = _load_test_module()
    root = Path(tempfile.mkdtemp(prefix="captcha-stack-"))
    (root / "data").mkdir()
    (root / "model").mkdir()
    ports = {k: free_port() for k in ("a", "b", "proxy", "ui")}
    conf = (REPO / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    conf = re.sub(
        r"^(\s*)server api:8000([^;]*);$",
        lambda m: "\n".join(f"{m.group(1)}server 127.0.0.1:{ports[k]}{m.group(2)};" for k in ("a", "b")),
        conf,
        flags=re.MULTILINE,
    )
    conf = re.sub(
        r"^(\s*)listen 8000;$", rf"\g<1>listen 127.0.0.1:{ports['proxy']};", conf, flags=re.MULTILINE
    )
    (root / "proxy.conf").write_text(conf, encoding="utf-8")
    env = {
        **os.environ,
        "SOLVER_IMAGE": tags["api"],
        "UI_IMAGE": tags["ui"],
        "PROXY_IMAGE": tags["proxy"],
        "API_PORT_A": str(ports["a"]),
        "API_PORT_B": str(ports["b"]),
        "PROXY_PORT": str(ports["proxy"]),
        "UI_PORT": str(ports["ui"]),
        "DATA_DIR": str(root / "data"),
        "MODEL_DIR": str(root / "model"),
        "PROXY_CONF": str(root / "proxy.conf"),
        "SOLVER_UID": str(os.getuid()),
        "SOLVER_GID": str(os.getgid()),
        "CAPTCHA_API_KEY": "",
    }
    compose = [
        shutil.which("docker-compose") or "docker-compose",
        "-f",
        str(REPO / "docker-compose.yaml"),
        "-f",
        str(REPO / "deploy" / "compose.test.yaml"),
        "-p",
        f"captcha-measure-{os.getpid()}",
    ]
    url = f"http://127.0.0.1:{ports['proxy']}"
    subprocess.run(
        [*compose, "up", "-d", "--no-build", "api", "api-b", "proxy"],
        check=True,
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=600,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the proxy did not answer /health within 120 s")
            time.sleep(0.2)
        load = asyncio.run(load_test.run_load(url, images, clients, duration))
        names = load.pop("names")
        per_replica = {}
        for k in ("a", "b"):
            text = httpx.get(f"http://127.0.0.1:{ports[k]}/metrics", timeout=10).text
            per_replica[f"replica_{k}_predictions"] = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("captcha_predictions_total{")
            )
        load.update(per_replica)
        load["results_csv_problems"] = load_test.check_results_csv(root / "data" / "results.csv", names)
        return load
    finally:
        subprocess.run(
            [*compose, "down", "--volumes", "--timeout", "20"],
            env=env,
            cwd=REPO,
            capture_output=True,
            timeout=300,
        )
        shutil.rmtree(root, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--base", default=os.environ.get("CAPTCHA_BASE_IMAGE", "captcha-solver-base:bookworm")
    )
    parser.add_argument(
        "--tag", default="measure", help="Tag of the images built or used (captcha-solver:TAG, ...)."
    )
    parser.add_argument("--build", action="store_true", help="Build the images first and time the builds.")
    parser.add_argument(
        "--no-cache", action="store_true", help="With --build: build without the layer cache."
    )
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args(argv)

    tags = {
        "api": f"captcha-solver:{args.tag}",
        "ui": f"captcha-solver-ui:{args.tag}",
        "proxy": f"captcha-solver-proxy:{args.tag}",
    }
    report: dict = {"version": VERSION, "base": args.base}
    if args.build:
        report["build_seconds"] = build(tags, args.base, args.no_cache)
        report["build_no_cache"] = args.no_cache
    report["image_sizes"] = sizes(tags, args.base)
    work = Path(tempfile.mkdtemp(prefix="captcha-measure-"))
    try:
        files = make_captchas(tags["api"], work, 20)
        times = cold_start(tags["api"], files[0], args.cold_runs)
        report["cold_start_to_first_answer_s"] = {"median": statistics.median(times), "runs": times}
        report["load_through_proxy"] = load_through_proxy(
            tags, [f.read_bytes() for f in files], args.clients, args.duration
        )
        report["load_through_proxy"].update(clients=args.clients, duration_s=args.duration)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = report["load_through_proxy"]
    report["passed"] = load["failures"] == 0 and not load["results_csv_problems"]
    text = json.dumps(report, indent=2)
    print(text)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n", encoding="utf-8")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
