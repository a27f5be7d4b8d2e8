"""Exact accuracy against the number of labels, with and without the rest of the captchas unlabelled.

    python bench/labels_curve.py --source ../shared/datasets/captcha_images_v2/train \\
        --labels 100,200 --seeds 0,1 --arms with,without --work /tmp/curve --out notebooks/labels_curve.json

The protocol, fixed before any run (the README's real-site protocol):

1. **Hold-out first.** A file is held out when ``sha256("holdout-v1:" + name) % 5 == 0``; no run
   trains, tunes or pseudo-labels on it, and every point is read on all of it.
2. **Labelled draw.** ``N`` labelled captchas are ``random.Random(D).sample`` of the rest
   (sorted names), the same draw for every seed and arm; ``D`` is ``--draw`` (0 unless asked:
   another draw measures how much the figure depends on *which* captchas were labelled).
3. **Unlabelled.** The arm ``with`` also gets every other captcha of the rest, copied as
   ``u0000.png``, ... so that no name carries its label (``train --unlabelled``).
4. **One command.** ``model.py train`` with no flag but the seed (``training.seed``), tracking and
   registration off, then ``model.py evaluate`` on the hold-out.

Each run's point (labels, unlabelled, seed, exact, n, train_seconds) replaces any point of the
same labels, unlabelled count and seed in ``--out`` (written atomically), so runs can be added
one at a time. Run it with nothing else on the machine: the training time is a figure too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from captcha_solver.common import atomic_write_text  # noqa: E402
from captcha_solver.image_io import list_images  # noqa: E402

PROTOCOL = (
    "hold-out: sha256('holdout-v1:' + name) % 5 == 0, never trained or tuned on; labelled: "
    "random.Random(0).sample of the rest (sorted names); unlabelled (arm 'with'): every other captcha of the "
    "rest, renamed u0000.png...; one command: model.py train with only training.seed set; read on the whole hold-out"
)


def split(source: Path) -> tuple[list[Path], list[Path]]:
    """The hold-out and the rest of ``source``'s images, by the fixed hash rule."""
    files = sorted(list_images(source)[0], key=lambda p: p.name)
    held = [
        p for p in files if int(hashlib.sha256(("holdout-v1:" + p.name).encode()).hexdigest(), 16) % 5 == 0
    ]
    taken = set(held)
    return held, [p for p in files if p not in taken]


def _fill(folder: Path, files: list[Path], rename: bool) -> Path:
    """A fresh scratch ``folder`` holding copies of ``files`` (renamed ``uNNNN`` when asked)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for i, path in enumerate(files):
        shutil.copyfile(path, folder / (f"u{i:04d}{path.suffix}" if rename else path.name))
    return folder


def run_point(
    work: Path, held: Path, labelled: Path, unlabelled: Path | None, seed: int, python: str
) -> dict:
    """Train with the one command, read the hold-out; the point's figures."""
    tag = f"{labelled.name}-{'with' if unlabelled else 'without'}-s{seed}"
    model_dir = work / f"model-{tag}"
    cmd = [python, str(ROOT / "model.py"), "--set", f"training.seed={seed}"]
    cmd += ["--set", "tracking.wandb_mode=disabled", "--set", "registry.register_on_train=false"]
    cmd += ["train", "--dataset", str(labelled), "--model-dir", str(model_dir)]
    if unlabelled is not None:
        cmd += ["--unlabelled", str(unlabelled)]
    start = time.perf_counter()
    with open(work / f"train-{tag}.log", "w", encoding="utf-8") as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    seconds = time.perf_counter() - start
    report = work / f"eval-{tag}.json"
    subprocess.run(
        [python, str(ROOT / "model.py"), "evaluate", "--dataset", str(held), "--model-dir", str(model_dir)]
        + ["--results", str(work / f"rows-{tag}.csv"), "--json-out", str(report)],
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=work,
    )
    figures = json.loads(report.read_text(encoding="utf-8"))
    return {"exact": figures["exact_accuracy"], "n": figures["n"], "train_seconds": round(seconds, 1)}


def _key(point: dict) -> tuple:
    """What identifies a point: labels, unlabelled count, labelled draw, seed (points from before
    ``--draw`` existed are draw 0)."""
    return point["labels"], point["unlabelled"], point.get("draw", 0), point["seed"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, required=True, help="folder of labelled captchas (<label>.png)")
    ap.add_argument("--labels", default="100,200", help="labelled counts, comma-separated")
    ap.add_argument("--seeds", default="0,1", help="training seeds, comma-separated")
    ap.add_argument("--arms", default="with,without", help="with (the rest unlabelled) and/or without")
    ap.add_argument("--work", type=Path, required=True, help="scratch folder (copies, models, logs)")
    ap.add_argument("--out", type=Path, default=ROOT / "notebooks" / "labels_curve.json")
    ap.add_argument("--style", default="real-site (captcha_images_v2)")
    ap.add_argument("--draw", type=int, default=0, help="seed of the labelled draw (random.Random(DRAW))")
    args = ap.parse_args(argv)
    held_files, rest = split(args.source)
    args.work.mkdir(parents=True, exist_ok=True)
    held = _fill(args.work / "holdout", held_files, rename=False)
    current = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {"points": []}
    points = current["points"]
    command = " ".join(["python bench/labels_curve.py", f"--source {args.source}", f"--labels {args.labels}"])
    command += f" --seeds {args.seeds} --arms {args.arms} --work {args.work}"
    command += f" --draw {args.draw}" if args.draw else ""
    # A draw other than 0 names its folders (and so its models and logs) apart.
    suffix = f"-d{args.draw}" if args.draw else ""
    for n in (int(x) for x in args.labels.split(",")):
        chosen = sorted(random.Random(args.draw).sample(rest, n), key=lambda p: p.name)
        taken = set(chosen)
        labelled = _fill(args.work / f"labelled-{n}{suffix}", chosen, rename=False)
        others = [p for p in rest if p not in taken]
        unlabelled = (
            _fill(args.work / f"unlabelled-{n}{suffix}", others, rename=True) if "with" in args.arms else None
        )
        for seed in (int(x) for x in args.seeds.split(",")):
            for arm in args.arms.split(","):
                extra = unlabelled if arm == "with" else None
                point = {
                    "labels": n,
                    "unlabelled": len(others) if extra else 0,
                    "seed": seed,
                    "draw": args.draw,
                }
                point.update(run_point(args.work, held, labelled, extra, seed, sys.executable))
                print(
                    f"{n} labelled (draw {args.draw}), {point['unlabelled']} unlabelled, seed {seed}: exact {point['exact']:.4f} "
                    f"of {point['n']}, trained in {point['train_seconds'] / 60:.1f} min",
                    flush=True,
                )
                key = _key(point)
                points = [p for p in points if _key(p) != key] + [point]
                commands = sorted(set(current.get("commands", [])) | {command})
                current = {
                    "style": args.style,
                    "holdout": len(held_files),
                    "protocol": PROTOCOL,
                    "commands": commands,
                    "points": sorted(points, key=_key),
                }
                atomic_write_text(args.out, json.dumps(current, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
