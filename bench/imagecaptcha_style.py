"""Labelled captchas in the style of the widely used ``captcha`` package (ImageCaptcha).

    python bench/imagecaptcha_style.py --out /tmp/ic_train --count 10000 --seed 1
    python bench/imagecaptcha_style.py --out /tmp/ic_test --count 1000 --seed 2

Digits and upper-case letters, length 4 to 6 (uniform), 160x60 PNG files
named ``<label>.png`` with the package's default fonts. The package is a
benchmark dependency only (``pip install captcha``), never a runtime one:
this script measures how well the solver learns a style it was not built
for. A label drawn twice gets one file (the stem is the label), so a run
may write slightly fewer files than ``--count``; the count written is
printed. The same seed gives the same files.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
from pathlib import Path
from types import SimpleNamespace

ALPHABET = string.digits + string.ascii_uppercase


def _seeded_secrets(rng: random.Random) -> SimpleNamespace:
    """Stand-in for the ``secrets`` functions ImageCaptcha calls, drawn from ``rng``."""
    return SimpleNamespace(randbelow=rng.randrange, randbits=rng.getrandbits, choice=rng.choice)


def generate(out: Path, count: int, seed: int, *, min_len: int = 4, max_len: int = 6) -> int:
    """Write up to ``count`` ImageCaptcha PNGs into ``out``; returns how many were written."""
    try:
        from captcha.image import ImageCaptcha
    except ImportError as exc:  # a benchmark dependency, not a project one
        raise SystemExit(f"this benchmark needs the 'captcha' package: pip install captcha ({exc})") from exc
    import captcha.image
    from tqdm.auto import tqdm

    out.mkdir(parents=True, exist_ok=True)
    # The package draws every random choice from `secrets` (0.7) or the global
    # `random` module (older releases); neither can be seeded. Both are pointed
    # at one seeded generator so the pictures, not only the labels, repeat.
    random.seed(seed)
    captcha.image.secrets = _seeded_secrets(random.Random(seed))
    labels = random.Random(seed + 7919)
    maker = ImageCaptcha(width=160, height=60)
    written = 0
    for _ in tqdm(range(count), desc="imagecaptcha", leave=False):
        text = "".join(labels.choice(ALPHABET) for _ in range(labels.randint(min_len, max_len)))
        path = out / f"{text}.png"
        if path.exists():
            continue
        maker.generate_image(text).save(path)
        written += 1
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder to write into (created)")
    parser.add_argument("--count", type=int, default=1000, help="captchas to draw (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of labels and pictures")
    args = parser.parse_args(argv)
    n = generate(args.out, args.count, args.seed)
    print(f"wrote {n} captchas to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
