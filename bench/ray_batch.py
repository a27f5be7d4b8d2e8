"""Batch reading on Ray against a local run: equal rows, throughput, a node killed at 50%, bad files.

Generates ``--count`` captchas with the project's generator (no public
assets needed), starts a real Ray cluster on loopback (a head without CPUs
and one-CPU worker nodes, as separate ``ray start`` processes) and runs the
real CLI (``python model.py predict``) for every figure::

    python bench/ray_batch.py                       # the issue's sizes: 10,000 / 5,000 / 100 bad
    python bench/ray_batch.py --count 2000 --kill-count 1000

It prints, in one run:

- the rows of ``--engine ray`` on the 2-node cluster against ``--engine local --workers 2``
  (file, prediction, confidence, status): equal or the first differences;
- throughput of local ``--workers 2``, of a local Ray instance (``--engine ray --workers 2``,
  no cluster: Ray's overhead on one machine) and of the cluster with 1 and with 2 worker
  nodes: end to end (the command's wall time, start-up included) and steady (rows between
  the first and the last block written, from the results' timestamps);
- a worker node killed once 50% of a ``--kill-count`` job's rows are written: exit code,
  rows, duplicates, missing;
- ``--bad`` bad files mixed into a batch of ``--bad-with`` captchas: their error rows (with
  reasons), and one row for every captcha.

Exit status 1 if rows differ, or the kill or bad-file check fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from captcha_solver.common import read_results  # noqa: E402
from captcha_solver.generator import generate_dataset  # noqa: E402
from tests.ray_batch.cluster import LocalCluster  # noqa: E402

COMPARED = ("file", "prediction", "confidence", "status")


def _predict(env: dict, cwd: Path, dataset: Path, results: Path, *args: str, wait: bool = True):
    command = [sys.executable, str(ROOT / "model.py"), "predict", "--dataset", str(dataset)]
    command += ["--results", str(results), *args]
    if not wait:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr.decode(errors='replace')[-3000:]}")
    return time.perf_counter() - started


def _throughput(name: str, n: int, wall: float, results: Path) -> dict:
    stamps = [dt.datetime.fromisoformat(r["timestamp"]) for r in read_results(results)]
    first, last = min(stamps), max(stamps)
    # Steady: the rows after the first block, over the time between the first and the last block.
    after_first = sum(s > first for s in stamps)
    span = (last - first).total_seconds()
    steady = after_first / span if span > 0 else float("nan")
    row = {"run": name, "images": n, "wall_s": round(wall, 1), "end_to_end_img_s": round(n / wall, 1)}
    row["steady_img_s"] = round(steady, 1)
    print(f"  {name:<34} {wall:7.1f} s  {n / wall:7.1f} img/s end to end  {steady:7.1f} img/s steady")
    return row


def _compare(local: Path, ray: Path) -> dict:
    a = [tuple(r[c] for c in COMPARED) for r in read_results(local)]
    b = [tuple(r[c] for c in COMPARED) for r in read_results(ray)]
    differ = [(x, y) for x, y in zip(a, b) if x != y]
    print(f"rows: local {len(a)}, ray {len(b)}, differing {len(differ) + abs(len(a) - len(b))}")
    for x, y in differ[:5]:
        print(f"  local {x}\n  ray   {y}")
    return {"local_rows": len(a), "ray_rows": len(b), "differing": len(differ), "equal": a == b}


def _rows_in(path: Path) -> int:
    try:
        with open(path, "rb") as handle:
            return max(sum(1 for _ in handle) - 1, 0)
    except FileNotFoundError:
        return 0


def _kill_run(cluster: LocalCluster, work: Path, dataset: Path, n: int) -> dict:
    results = work / "kill.csv"
    job = _predict(
        cluster.env, work, dataset, results, "--engine", "ray", "--address", cluster.address, wait=False
    )
    started, killed_at = time.perf_counter(), None
    while job.poll() is None:
        if killed_at is None and _rows_in(results) >= n // 2:
            killed_at = _rows_in(results)
            cluster.kill("w2")
        time.sleep(0.05)
    stderr = job.stderr.read().decode(errors="replace")
    wall = time.perf_counter() - started
    files = [r["file"] for r in read_results(results)] if results.exists() else []
    expected = {str(p) for p in dataset.iterdir()}
    counts = Counter(files)
    out = {
        "exit_code": job.returncode,
        "killed_at_rows": killed_at,
        "rows": len(files),
        "duplicated": sum(c - 1 for c in counts.values() if c > 1),
        "missing": len(expected - set(files)),
        "wall_s": round(wall, 1),
    }
    print(f"kill w2 at 50%: {json.dumps(out)}")
    if job.returncode != 0:
        print(stderr[-2000:])
    return out


def _link_subset(source: Path, target: Path, n: int) -> Path:
    """A folder holding the first ``n`` captchas of ``source`` as hard links (no copy, no new pixels)."""
    target.mkdir()
    for path in sorted(source.iterdir())[:n]:
        os.link(path, target / path.name)
    return target


def _bad_run(cluster: LocalCluster, work: Path, source: Path, n_good: int, n_bad: int) -> dict:
    folder = _link_subset(source, work / "with_bad", n_good)
    good = next(folder.iterdir()).read_bytes()
    for i in range(n_bad):  # four kinds of broken file, in turn
        kind = i % 4
        data = [b"", b"not an image\n", good[: len(good) // 2], b"\x89PNG\r\n\x1a\n" + os.urandom(64)][kind]
        (folder / f"bad{i:03d}.png").write_bytes(data)
    results = work / "bad.csv"
    _predict(cluster.env, work, folder, results, "--engine", "ray", "--address", cluster.address)
    rows = read_results(results)
    errors = [r for r in rows if r["status"] == "error"]
    bad_rows = [r for r in errors if Path(r["file"]).name.startswith("bad")]
    out = {
        "rows": len(rows),
        "error_rows": len(errors),
        "bad_files_with_reasons": sum(bool(r["error"]) for r in bad_rows),
        "good_rows": len(rows) - len(bad_rows),
        "good_files": n_good,
        # The kinds of reason: each error row's message after the file name, up to its first detail.
        "reasons": dict(
            Counter(re.split(r"[:(]", r["error"].split(": ", 1)[-1])[0].strip() for r in bad_rows)
        ),
    }
    print(f"{n_bad} bad files: {json.dumps(out)}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="Captchas read by every engine.")
    parser.add_argument(
        "--kill-count", type=int, default=5_000, help="Captchas of the job whose node is killed."
    )
    parser.add_argument("--bad", type=int, default=100, help="Bad files mixed into a batch.")
    parser.add_argument("--bad-with", type=int, default=1_000, help="Good captchas in that batch.")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--work", type=Path, default=None, help="Work folder (default: a new temp folder).")
    parser.add_argument("--json-out", type=Path, default=None, help="Also write the figures as JSON.")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="raybench-", dir=args.work))
    captchas = work / "captchas"
    print(f"work folder {work}; generating {args.count} captchas (seed {args.seed})", flush=True)
    generate_dataset(captchas, args.count, seed=args.seed, workers=2)
    kill_set = _link_subset(captchas, work / "kill_set", min(args.kill_count, args.count))
    # Ray wants short socket paths under its temp dir.
    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="rb", dir="/tmp")), object_store_bytes=200 * 1024**2)
    report: dict = {"count": args.count, "cpus": os.cpu_count(), "throughput": []}
    try:
        cluster.start_head()
        cluster.add_worker("w1")
        print("throughput:", flush=True)
        wall = _predict(cluster.env, work, captchas, work / "local.csv", "--workers", "2")
        report["throughput"].append(_throughput("local --workers 2", args.count, wall, work / "local.csv"))
        wall = _predict(
            cluster.env, work, captchas, work / "ray_local.csv", "--engine", "ray", "--workers", "2"
        )
        report["throughput"].append(
            _throughput("ray, local instance, 2 CPUs", args.count, wall, work / "ray_local.csv")
        )
        cluster.wait_for_cpus(1)
        ray = ("--engine", "ray", "--address", cluster.address)
        wall = _predict(cluster.env, work, captchas, work / "ray1.csv", *ray)
        report["throughput"].append(
            _throughput("ray cluster, 1 worker node", args.count, wall, work / "ray1.csv")
        )
        cluster.add_worker("w2")
        cluster.wait_for_cpus(2)
        wall = _predict(cluster.env, work, captchas, work / "ray2.csv", *ray)
        report["throughput"].append(
            _throughput("ray cluster, 2 worker nodes", args.count, wall, work / "ray2.csv")
        )
        report["rows_vs_local"] = _compare(work / "local.csv", work / "ray2.csv")
        report["kill"] = _kill_run(cluster, work, kill_set, min(args.kill_count, args.count))
        report["bad"] = _bad_run(cluster, work, captchas, min(args.bad_with, args.count), args.bad)
    finally:
        cluster.stop()
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n")
    kill, bad = report["kill"], report["bad"]
    ok = (
        report["rows_vs_local"]["equal"]
        and kill["exit_code"] == 0
        and kill["rows"] == len(list(kill_set.iterdir()))
        and kill["duplicated"] == kill["missing"] == 0
        and bad["bad_files_with_reasons"] == args.bad
        and bad["good_rows"] == bad["good_files"]
    )
    print("all checks passed" if ok else "CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
