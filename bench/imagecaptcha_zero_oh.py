"""How well can 0 and O be told apart in ImageCaptcha-style glyphs, alone, from N examples?

    python bench/imagecaptcha_zero_oh.py --train 2500 10000 --test 4000 --scale 0.5333

Draws single glyphs with the ``captcha`` package's own glyph routine (its
font, size choice, rotation and warp; no neighbours, no noise), trains the
same small CNN on ``N`` of them for each ``--train`` size and prints its
accuracy on fresh ones. The package stretches every glyph to its font cell,
and 0 and O have the same cell in its monospaced font, so their outlines end
up the same size: only the strokes and curves differ. The printed figures
say whether the glyphs themselves, or the number of examples (10,000
captchas hold about 2,800 zeros and Os), limit a reader on that pair.
A benchmark only: it needs ``pip install captcha`` and torch.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from imagecaptcha_style import _seeded_secrets  # noqa: E402  (the sibling script)

ROWS, COLS = 60, 64  # the captcha's height; wider than any glyph


def draw_glyphs(count: int, seed: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` glyph masks (N, 1, H, W) in [0, 1] and labels (1 for O, 0 for 0)."""
    import captcha.image
    import cv2
    from PIL import Image, ImageDraw


    rng = random.Random(seed)
    captcha.image.secrets = _seeded_secrets(rng)
    maker = captcha.image.ImageCaptcha(160, ROWS)
    draw = ImageDraw.Draw(Image.new("RGB", (8, 8)))
    xs, ys = [], []
    for _ in range(count):
        char = rng.choice("0O")
        alpha = np.asarray(maker._draw_character(char, draw, (0, 0, 0, 255)))[:, :, 3]
        canvas = np.zeros((ROWS, COLS), np.float32)
        h, w = min(ROWS, alpha.shape[0]), min(COLS, alpha.shape[1])
        top = (ROWS - h) // 2
        canvas[top : top + h, :w] = alpha[:h, :w] / 255.0
        if scale != 1.0:
            canvas = cv2.resize(canvas, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        xs.append(canvas[None])
        ys.append(int(char == "O"))
    return np.stack(xs), np.array(ys)


def accuracy(train_x, train_y, test_x, test_y, *, steps: int, seed: int) -> float:
    """Test accuracy of a small CNN trained on the given glyphs for ``steps`` batches of 64.

    The same number of steps for every training size, so that only the
    number of different examples changes.
    """
    import torch
    from torch import nn

    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(64, 2),
    )
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    x, y = torch.from_numpy(train_x), torch.from_numpy(train_y)
    done = 0
    while done < steps:
        order = torch.randperm(len(x))
        for s in range(0, len(x) - 63, 64):
            i = order[s : s + 64]
            loss = nn.functional.cross_entropy(net(x[i]), y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done == steps:
                break
    with torch.no_grad():
        pred = net(torch.from_numpy(test_x)).argmax(1).numpy()
    return float((pred == test_y).mean())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, nargs="+", default=[5000, 16000], help="training sizes to try")
    parser.add_argument("--test", type=int, default=4000, help="fresh glyphs to score on")
    parser.add_argument("--steps", type=int, default=1500, help="training batches of 64, the same for every size")
    parser.add_argument("--scale", type=float, default=1.0, help="resize factor (32/60 = the reader's default height)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import captcha.image  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"this benchmark needs the 'captcha' package and torch ({exc})") from exc
    test_x, test_y = draw_glyphs(args.test, args.seed + 1, args.scale)
    for n in args.train:
        t0 = time.perf_counter()
        train_x, train_y = draw_glyphs(n, args.seed, args.scale)
        acc = accuracy(train_x, train_y, test_x, test_y, steps=args.steps, seed=args.seed)
        print(f"{n:>6} training glyphs: {acc:.1%} of {args.test} fresh 0/O glyphs right ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
