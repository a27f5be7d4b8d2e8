"""How often a model's surest readings of "unlabelled" captchas are right: the ceiling of self-training.

    python bench/pseudo_label_precision.py --model-dir /tmp/ic/model --folder /tmp/ic/u9000 [--views] [--pair 0O]

Self-training keeps a reading as a label only where the model is sure enough
(``training.pseudo_label_precision``, 0.99). Whether such readings exist is a
property of the style and the model, and a run cannot measure it: its
validation set is small and labelled, its unlabelled captchas have no truth.
This benchmark reads a folder of captchas *whose names are their labels* as
if they were unlabelled (only readings that fit the model's label lengths and
characters, as self-training keeps), sorts them surest first, and prints for
growing numbers kept the confidence threshold, the share right, and how the
wrong ones are wrong: a character missing or extra (the length) or a
character read as another. ``--views`` also reads each captcha in the four views
self-training checks (shifted 3 px left and right, squeezed and stretched 8%
in width: ``captcha_solver.training.augmented_views``) and keeps only readings
that all four agree with (consistency under augmentation). ``--pair 0O`` also
counts, among the kept readings, the characters read as ``0`` or ``O`` and how
many of them are wrong (the pair self-training merges, ``training.pseudo_label_merge``).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from captcha_solver.image_io import label_from_path, list_images  # noqa: E402
from captcha_solver.inference import Model  # noqa: E402
from captcha_solver.settings import Config  # noqa: E402
from captcha_solver.training import augmented_views, fits_labels  # noqa: E402


def _kind(truth: str, text: str) -> str:
    return "length" if len(truth) != len(text) else "character"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, required=True)
    ap.add_argument(
        "--folder", type=Path, required=True, help="captchas named <label>.png, read as unlabelled"
    )
    ap.add_argument("--sample", type=int, default=0, help="read this many (a fixed random draw; 0: all)")
    ap.add_argument("--views", action="store_true", help="also require four shifted/scaled views to agree")
    ap.add_argument(
        "--pair",
        default="",
        help="characters to follow, e.g. 0O: how many of the kept readings' characters read as one of them "
        "(in readings of the label's length) are wrong",
    )
    args = ap.parse_args()
    model = Model.load(args.model_dir, Config())
    files, _ = list_images(args.folder)
    files = sorted(files, key=lambda p: p.name)
    if args.sample:
        files = random.Random(0).sample(files, min(args.sample, len(files)))
    labels = model.labels  # None for a model whose manifest does not record them: every reading fits
    rows = []  # (confidence, truth, text, every view reads the same text)
    for path in files:
        rgb = model.decode(path)
        result = model.read(rgb)
        if not result.text or (
            labels is not None
            and labels.lengths
            and not fits_labels(result.text, labels.charset or model.charset, labels.lengths)
        ):
            continue
        steady = args.views and all(model.read(v).text == result.text for v in augmented_views(rgb))
        rows.append((result.confidence, label_from_path(path), result.text, steady))
    rows.sort(key=lambda r: -r[0])
    print(f"{len(rows)} of {len(files)} readings fit the labels' lengths and characters")
    subsets = [("all readings", rows)]
    if args.views:
        subsets.append(("the 4 views agree", [r for r in rows if r[3]]))
    for title, chosen in subsets:
        print(f"\n{title}: {len(chosen)}")
        pair = f"{args.pair} wrong/read" if args.pair else ""
        print(
            f"{'kept':>6} {'threshold':>10} {'right':>7} {'wrong: length':>14} {'character':>10} {pair:>14}"
        )
        for share in (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0):
            kept = chosen[: max(1, round(share * len(chosen)))]
            wrong = [_kind(t, x) for _, t, x, _ in kept if t != x]
            shown = ""
            if args.pair:
                # Characters read as one of the pair, position by position where the length is right.
                read = [
                    (a, b) for _, t, x, _ in kept if len(t) == len(x) for a, b in zip(t, x) if b in args.pair
                ]
                shown = f"{sum(a != b for a, b in read)}/{len(read)}"
            print(
                f"{len(kept):>6} {kept[-1][0]:>10.4f} {1 - len(wrong) / len(kept):>7.2%} "
                f"{wrong.count('length'):>14} {wrong.count('character'):>10} {shown:>14}"
            )


if __name__ == "__main__":
    main()
