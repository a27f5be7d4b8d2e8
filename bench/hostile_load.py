"""Hostile requests against the HTTP API on loopback, alone and under a 50-client load.

Starts ``python model.py serve`` with the default settings on 127.0.0.1 (or
uses ``--url``, which must be a loopback address), watches ``/health`` and the
server's RSS all along, and sends:

- four concurrent decompression bombs (1-bit PNGs of 6324 x 6324, 40 Mpx in a
  few KB) to ``/predict``;
- a 48 MB JSON body to ``/predict/batch``, once with a ``Content-Length`` and
  once streamed without one (chunked);
- a 100,000-deep JSON array to ``/predict`` and to ``/predict/batch``;
- with ``--heavy``, four concurrent 2000 x 2000 JPEGs of random blocks (under
  the default pixel and upload limits, and seconds of CPU each to segment;
  a 503 ``server_busy`` is an allowed answer to these);

first on an idle server, then again and again while ``--clients`` honest
clients post captchas for ``--duration`` seconds. It prints the figures as
JSON: the status and time of every hostile request, the slowest ``/health``
answer, the peak RSS, the honest clients' latency and failures, and whether
``results.csv`` holds one row per image sent::

    python bench/hostile_load.py --model-dir model --clients 50 --duration 60

Exit status 1 if a check of the hardening issue fails: a bomb not refused
with 4xx within ``--bomb-deadline-s``, a 5xx or a dropped connection on a
hostile request (other than a heavy image's 503), ``/health`` slower than
``--max-health-s``, RSS over
``--max-rss-mb``, an honest request failing, or a wrong results.csv.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import importlib.util
import json
import signal
import struct
import sys
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _load_test():
    # bench/ is not a package: load its sibling by path for the server start-up and the CSV check.
    spec = importlib.util.spec_from_file_location("load_test", Path(__file__).with_name("load_test.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


load_test = _load_test()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_bomb(side: int = 6324) -> bytes:
    """A valid 1-bit grey PNG of side x side black pixels: 40 Mpx in a few KB."""
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def heavy_jpeg(side: int = 2000, seed: int = 0) -> bytes:
    """A side x side JPEG of 8-pixel blocks of random colour: under the default 4 Mpx and 2 MiB
    limits, yet seconds of CPU to segment (tens of thousands of components)."""
    import cv2

    blocks = np.random.default_rng(seed).integers(0, 256, (side // 8, side // 8, 3), dtype=np.uint8)
    pixels = np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1)
    return cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 30])[1].tobytes()


def big_batch_body(image: bytes, size: int = 48_000_000) -> bytes:
    """A well-formed batch JSON of about ``size`` bytes (many copies of one captcha)."""
    item = json.dumps({"image_base64": base64.b64encode(image).decode(), "name": "x.png"}).encode()
    count = max(1, size // (len(item) + 1))
    return b'{"images": [' + b",".join([item] * count) + b"]}"


def deep_json(depth: int = 100_000) -> bytes:
    return b"[" * depth + b"]" * depth


def _watch(url: str, pid: int | None, period_s: float, ready, stop, out) -> None:
    """Poll /health and the server's RSS until ``stop`` is set; put the samples into ``out``."""
    health, failures, rss = [], Counter(), []
    with httpx.Client(base_url=url, timeout=10) as client:
        ready.set()
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                if client.get("/health").status_code != 200:
                    failures["not 200"] += 1
            except httpx.HTTPError as exc:
                failures[type(exc).__name__] += 1
            health.append((t0, time.perf_counter() - t0))
            if pid is not None:
                try:
                    rss.append(load_test._rss_mb(pid))
                except (OSError, ValueError):
                    pass
            stop.wait(period_s)
    out.put((health, dict(failures), rss))


class Watch:
    """A process of its own (so that the load generator's CPU use does not delay it) that polls
    ``/health`` and the server's RSS until the block ends."""

    def __init__(self, url: str, pid: int | None, period_s: float = 0.05):
        import multiprocessing

        # Forked before any event loop or client exists in this process.
        context = multiprocessing.get_context("fork")
        self._ready, self._stop, self._out = context.Event(), context.Event(), context.Queue()
        self._process = context.Process(
            target=_watch, args=(url, pid, period_s, self._ready, self._stop, self._out), daemon=True
        )
        self.health: list[tuple[float, float]] = []  # (start on the monotonic clock, seconds)
        self.health_failures: dict = {}
        self.rss_mb: list[float] = []

    def __enter__(self):
        self._process.start()
        if not self._ready.wait(timeout=60):
            raise RuntimeError("the /health watcher did not start")
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.health, self.health_failures, self.rss_mb = self._out.get(timeout=60)
        self._process.join()

    def figures(self, prefix: str, rounds: list[dict] = ()) -> dict:
        seconds = [dt for _, dt in self.health]
        out = {
            f"{prefix}health_polls": len(seconds),
            f"{prefix}health_max_s": round(max(seconds, default=float("nan")), 3),
            f"{prefix}health_p99_s": round(float(np.percentile(seconds, 99)), 3) if seconds else None,
            f"{prefix}health_failures": self.health_failures,
        }
        # The slowest polls, with the hostile requests in flight meanwhile: what delayed them.
        slowest = sorted(self.health, key=lambda poll: -poll[1])[:3]
        out[f"{prefix}health_slowest"] = [
            {
                "s": round(dt, 3),
                "hostile_in_flight": sorted(
                    {
                        kind
                        for hostile in rounds
                        for kind, results in hostile.items()
                        if kind != "tag"
                        for r in results
                        if r["t0"] < t0 + dt and r["t0"] + r["s"] > t0
                    }
                ),
            }
            for t0, dt in slowest
        ]
        if self.rss_mb:
            out[f"{prefix}rss_max_mb"] = round(max(self.rss_mb), 1)
        return out


async def _post(client: httpx.AsyncClient, path: str, **kwargs) -> dict:
    t0 = time.perf_counter()
    try:
        response = await client.post(path, **kwargs)
        try:
            code = response.json().get("error", "")
        except ValueError:
            code = "(not JSON)"
        return {
            "status": response.status_code,
            "error": code,
            "t0": t0,
            "s": round(time.perf_counter() - t0, 3),
        }
    except httpx.HTTPError as exc:
        return {
            "status": None,
            "error": type(exc).__name__,
            "t0": t0,
            "s": round(time.perf_counter() - t0, 3),
        }


async def _chunks(data: bytes, size: int = 1 << 16):
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def hostile_round(client: httpx.AsyncClient, bodies: dict, tag: str, heavy: bool) -> dict:
    """One of each hostile request; the bombs and the big images four at once. Returns {kind: [results]}."""
    out: dict[str, list] = {}
    bombs = [
        _post(client, "/predict", files={"file": (f"bomb-{tag}-{k}.png", bodies["bomb"], "image/png")})
        for k in range(4)
    ]
    out["bombs_x4"] = list(await asyncio.gather(*bombs))
    json_headers = {"content-type": "application/json"}
    out["batch_48mb"] = [await _post(client, "/predict/batch", content=bodies["batch"], headers=json_headers)]
    out["batch_48mb_chunked"] = [
        await _post(client, "/predict/batch", content=_chunks(bodies["batch"]), headers=json_headers)
    ]
    out["deep_json_predict"] = [await _post(client, "/predict", content=bodies["deep"], headers=json_headers)]
    out["deep_json_batch"] = [
        await _post(client, "/predict/batch", content=bodies["deep"], headers=json_headers)
    ]
    if heavy:
        posts = [
            _post(client, "/predict", files={"file": (f"heavy-{tag}-{k}.jpg", bodies["heavy"], "image/jpeg")})
            for k in range(4)
        ]
        out["heavy_4mpx_x4"] = list(await asyncio.gather(*posts))
    return out


def _attack(url: str, bodies: dict, heavy: bool, pause_s: float, ready, stop, out) -> None:
    """Send hostile rounds, ``pause_s`` apart, until ``stop`` is set; put the rounds into ``out``."""
    rounds = []

    async def run() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            ready.set()
            k = 0
            while not stop.is_set():
                tag = f"load{k}"
                rounds.append({"tag": tag, **await hostile_round(client, bodies, tag, heavy)})
                k += 1
                await asyncio.to_thread(stop.wait, pause_s)

    asyncio.run(run())
    out.put(rounds)


class Attacker:
    """The hostile rounds in a process of their own, so that the honest clients' CPU use does not
    delay them (the deadlines are the server's), for as long as the block runs."""

    def __init__(self, url: str, bodies: dict, heavy: bool, pause_s: float):
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._ready, self._stop, self._out = context.Event(), context.Event(), context.Queue()
        self._process = context.Process(
            target=_attack,
            args=(url, bodies, heavy, pause_s, self._ready, self._stop, self._out),
            daemon=True,
        )
        self.rounds: list[dict] = []

    def __enter__(self):
        self._process.start()
        if not self._ready.wait(timeout=60):
            raise RuntimeError("the attacker did not start")
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.rounds = self._out.get(timeout=300)
        self._process.join()


def _summary(results: list[dict]) -> dict:
    return {
        "statuses": dict(
            Counter(str(r["status"]) + (f" {r['error']}" if r["error"] else "") for r in results)
        ),
        "max_s": max(r["s"] for r in results),
    }


def expected_rows(rounds: list[dict]) -> list[str]:
    """Files that get a results row: every image that reached the solver (bombs and big images included)."""
    names = []
    for hostile in rounds:
        tag = hostile["tag"]
        for kind, pattern in (("bombs_x4", "bomb-{}-{}.png"), ("heavy_4mpx_x4", "heavy-{}-{}.jpg")):
            names += [
                pattern.format(tag, k) for k, r in enumerate(hostile.get(kind, ())) if r["status"] is not None
            ]
    return names


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model-dir", default="model", help="Model folder the server loads (default ./model)."
    )
    parser.add_argument(
        "--url", default=None, help="Use a running server on loopback instead (no RSS/CSV checks)."
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds of honest load.")
    parser.add_argument(
        "--pause-s", type=float, default=2.0, help="Pause between hostile rounds during the load."
    )
    parser.add_argument(
        "--heavy",
        action="store_true",
        help="Also send four 4 Mpx JPEGs of random blocks each round (costly to read; not one of the issue's checks).",
    )
    parser.add_argument("--bomb-deadline-s", type=float, default=1.0)
    parser.add_argument("--max-health-s", type=float, default=0.5)
    parser.add_argument("--max-rss-mb", type=float, default=400.0)
    parser.add_argument("--json-out", default=None, help="Also write the figures as JSON.")
    args = parser.parse_args(argv)
    if args.url and urlparse(args.url).hostname not in load_test.LOOPBACK:
        raise SystemExit(f"--url must be a loopback address (127.0.0.1), got {urlparse(args.url).hostname!r}")

    from captcha_solver.generator import generate_dataset

    work = Path(tempfile.mkdtemp(prefix="captcha-hostile-"))
    files = [Path(p) for p in generate_dataset(work / "captchas", 20, seed=7, workers=1)]
    images = [f.read_bytes() for f in files]
    bodies = {
        "bomb": png_bomb(),
        "batch": big_batch_body(images[0]),
        "deep": deep_json(),
        "heavy": heavy_jpeg(),
    }
    report: dict = {
        "bomb_bytes": len(bodies["bomb"]),
        "batch_body_bytes": len(bodies["batch"]),
        "deep_json_bytes": len(bodies["deep"]),
        "heavy_jpeg_bytes": len(bodies["heavy"]),
        "clients": args.clients,
        "duration_s": args.duration,
    }

    process = None
    if args.url:
        url = args.url
    else:
        results_csv = work / "results.csv"
        process, url, cold = load_test.start_server(
            str(Path(args.model_dir).resolve()), results_csv, 1, images[0]
        )
        report["cold_start_to_first_answer_s"] = round(cold, 2)
        report["rss_mb_idle"] = round(load_test._rss_mb(process.pid), 1)
    pid = process.pid if process is not None else None
    rounds: list[dict] = []

    async def alone() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            hostile = await hostile_round(client, bodies, "idle", args.heavy)
            rounds.append({"tag": "idle", **hostile})

    try:
        with Watch(url, pid) as watch:
            asyncio.run(alone())
        report.update(watch.figures("idle_", rounds))
        report["idle"] = {k: _summary(v) for k, v in rounds[0].items() if k != "tag"}
        with Watch(url, pid) as watch, Attacker(url, bodies, args.heavy, args.pause_s) as attacker:
            load = asyncio.run(load_test.run_load(url, images, args.clients, args.duration))
        rounds += attacker.rounds
        names = load.pop("names")
        report.update(watch.figures("load_", rounds[1:]))
        report["load"] = load
        report.update(load_test.server_quantiles(url))
        loaded_rounds = rounds[1:]
        report["hostile_rounds_under_load"] = len(loaded_rounds)
        report["under_load"] = {
            kind: _summary([r for hostile in loaded_rounds for r in hostile[kind]])
            for kind in (loaded_rounds[0] if loaded_rounds else {})
            if kind != "tag"
        }
    finally:
        if process is not None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)

    checks = {}
    all_results = [
        (kind, r) for hostile in rounds for kind, rs in hostile.items() if kind != "tag" for r in rs
    ]
    checks["bombs_4xx_within_deadline"] = all(
        r["status"] is not None and 400 <= r["status"] < 500 and r["s"] <= args.bomb_deadline_s
        for kind, r in all_results
        if kind == "bombs_x4"
    )
    checks["hostile_no_5xx_no_dropped_connection"] = all(
        r["status"] is not None and r["status"] < 500 for kind, r in all_results if kind != "heavy_4mpx_x4"
    )
    checks["heavy_images_answered_200_or_503"] = all(
        r["status"] in (200, 503) for kind, r in all_results if kind == "heavy_4mpx_x4"
    )
    checks["health_within_limit"] = (
        max(report["idle_health_max_s"], report["load_health_max_s"]) <= args.max_health_s
        and not report["idle_health_failures"]
        and not report["load_health_failures"]
    )
    checks["honest_no_failures"] = report["load"]["failures"] == 0
    if process is not None:
        checks["rss_within_limit"] = (
            max(report["idle_rss_max_mb"], report["load_rss_max_mb"]) <= args.max_rss_mb
        )
        problems = load_test.check_results_csv(results_csv, names + expected_rows(rounds))
        report["results_csv"] = str(results_csv)
        report["results_csv_problems"] = problems
        checks["one_results_row_per_image"] = not problems
    report["checks"] = checks
    report["passed"] = all(checks.values())
    text = json.dumps(report, indent=2)
    print(text)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n", encoding="utf-8")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
