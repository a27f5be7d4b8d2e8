"""Speed of the solver: per-stage latency on one core and batch throughput on all cores.

    python bench/benchmark.py [--count 200] [--model-dir model] [--background PNG --font TTF]

Captchas come from the project's generator (720x300 PNG files, as users'
captchas are), written to a temporary folder; with ``--background`` and
``--font`` they use those assets instead of the project's own. Prints the
median and 90th percentile of end-to-end prediction (PNG decoding included)
with a per-stage breakdown, the decode-only time beside it, and the
throughput of a batch run over all cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402


def _pct(values, q):
    return float(np.percentile(values, q))


def main(argv=None) -> int:
    """Time the stages on generated captchas and print the table (over 80 lines: one straight measuring script)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="captchas to time (default 200)")
    parser.add_argument(
        "--model-dir", default=None, help="model folder (default: ./model or the packaged one)"
    )
    parser.add_argument(
        "--background", action="append", default=[], help="background PNG (default: procedural)"
    )
    parser.add_argument("--font", action="append", default=[], help="TrueType font (default: bundled)")
    parser.add_argument("--seed", type=int, default=99, help="generator seed")
    parser.add_argument("--dataset", default=None, help="time these files instead of generating captchas")
    parser.add_argument(
        "--reader",
        choices=["auto", "classical", "neural"],
        default=None,
        help="routing.reader (default: config)",
    )
    args = parser.parse_args(argv)

    from captcha_solver.generator import generate_dataset
    from captcha_solver.image_io import decode_image
    from captcha_solver.solver import My_CaptchaSolver_Model

    with tempfile.TemporaryDirectory(prefix="captcha-bench-") as tmp:
        if args.dataset:
            files = sorted(p for p in Path(args.dataset).iterdir() if p.suffix.lower() == ".png")[
                : args.count
            ]
        else:
            files = generate_dataset(
                Path(tmp) / "captchas",
                args.count,
                args.seed,
                backgrounds=args.background or ["builtin"],
                fonts=args.font or ["builtin"],
            )
        overrides = {
            "logging.console": False,
            "paths.log_file": str(Path(tmp) / "bench.log"),
            "classifier.threads": 1,
        }
        if args.reader:
            overrides["routing.reader"] = args.reader
        solver = My_CaptchaSolver_Model(
            model_dir=args.model_dir, overrides=overrides, results_csv=Path(tmp) / "r.csv"
        )
        t0 = time.perf_counter()
        solver.load()
        load_ms = (time.perf_counter() - t0) * 1e3

        # One core for the latency figures: the process and onnxruntime both.
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        blobs = [p.read_bytes() for p in files]
        for data in blobs[:10]:  # warm-up: caches, lazy imports, ORT graph
            solver.predict_row(data, log_result=False)

        decode_only = []
        for data in blobs:
            t = time.perf_counter()
            decode_image(data)
            decode_only.append((time.perf_counter() - t) * 1e3)

        total, stages, correct, readers = [], {}, 0, {}
        for path, data in zip(files, blobs):
            t = time.perf_counter()
            row = solver.predict_row(data, name=path.name, log_result=False)
            total.append((time.perf_counter() - t) * 1e3)
            for stage, ms in row.get("timings_ms", {}).items():
                stages.setdefault(stage, []).append(ms)
            correct += row["prediction"] == path.stem
            readers[row.get("reader", "")] = readers.get(row.get("reader", ""), 0) + 1

        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        batch_dir = Path(tmp) / "batch"
        batch_dir.mkdir()
        for path in files:
            (batch_dir / path.name).write_bytes(path.read_bytes())
        t = time.perf_counter()
        rows = solver.predict_dataset(batch_dir, workers=cores, progress=False)
        batch_s = time.perf_counter() - t

    print(
        f"model: {solver.model_.manifest['classifier']['chosen']} from {solver.resolved_model_dir()}  (load {load_ms:.0f} ms)"
    )
    print(
        f"captchas: {len(files)} ({'given folder' if args.dataset else 'generated'}), exact accuracy {correct / len(files):.4f}"
    )
    print("answered by: " + ", ".join(f"{k or 'none'} {v}" for k, v in sorted(readers.items())))
    print("single core, per captcha (ms):        median      p90     mean")
    print(
        f"  end to end (PNG bytes -> text)    {statistics.median(total):8.2f} {_pct(total, 90):8.2f} "
        f"{statistics.fmean(total):8.2f}"
    )
    for stage in (
        "decode",
        "segmentation",
        "features",
        "classifier",
        "decoding",
        "neural_preprocess",
        "neural_network",
        "neural_decode",
    ):
        if stage in stages:
            print(f"    {stage:<30}  {statistics.median(stages[stage]):8.2f} {_pct(stages[stage], 90):8.2f}")
    print(
        f"  decode only (cv2 PNG decode)      {statistics.median(decode_only):8.2f} {_pct(decode_only, 90):8.2f}"
    )
    print(
        f"batch on {cores} cores: {len(rows)} captchas in {batch_s:.2f} s = {len(rows) / batch_s:.1f} captchas/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
