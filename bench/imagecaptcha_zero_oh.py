"""How well can 0 and O be told apart in ImageCaptcha-style glyphs, from N examples?

    python bench/imagecaptcha_zero_oh.py --render line --train 2500 --test 4000

Draws glyphs with the ``captcha`` package's own glyph routine (its font,
size choice, rotation and warp), trains the same small CNN on ``N`` of them
for each ``--train`` size and prints its accuracy on fresh ones. The package
stretches every glyph to its font cell, and 0 and O have the same cell in
its monospaced font, so their outlines end up the same size: only the
strokes and curves differ. ``--render`` says how much of a real captcha is
around the glyph: ``glyph`` the clean mask alone, ``captcha`` also the
package's colours, paste mask, noise and blur, ``line`` also two neighbours
laid out by the package's rule. Comparing them says which part of the
captcha hides the difference; comparing ``--train`` sizes says whether the
number of examples (10,000 captchas hold about 2,800 zeros and Os) limits it.
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
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # the benchmark captchas' characters


def _colours():
    """A background and an ink colour, drawn as ``ImageCaptcha.generate_image`` draws them."""
    import captcha.image

    background = captcha.image.random_color(238, 255)
    return background, captcha.image.random_color(10, 200, captcha.image.secrets.randbelow(36) + 220)


def _finish(maker, image, colour, dots: int = 30) -> np.ndarray:
    """The package's noise dots, noise arc and SMOOTH, then ink made bright: (H, W) in [0, 1].

    Bright ink is 255 minus the darkest channel, as the reader's grey
    conversion does.
    """
    from PIL import ImageFilter

    maker.create_noise_dots(image, colour, number=dots)
    maker.create_noise_curve(image, colour)
    image = image.filter(ImageFilter.SMOOTH)
    return (255 - np.asarray(image).min(axis=2)).astype(np.float32) / 255.0


def _paste(maker, image, glyph, xy) -> None:
    """Paste a glyph the package's way: through its luminance, via the saturating lookup table."""
    image.paste(glyph, xy, glyph.convert("L").point(maker.lookup_table))


def _as_captcha(maker, char: str, draw) -> np.ndarray:
    """One glyph drawn, pasted, noised and blurred as in a real captcha: (ROWS, COLS) in [0, 1].

    The steps of ``ImageCaptcha.generate_image`` for a one-glyph picture:
    a random light background and ink colour, the glyph drawn in that
    colour and pasted through the package's own mask, then its noise and
    blur (:func:`_finish`).
    """
    from PIL import Image

    background, colour = _colours()
    glyph = maker._draw_character(char, draw, colour)
    image = Image.new("RGB", (COLS, ROWS), background)
    _paste(maker, image, glyph, ((COLS - glyph.size[0]) // 2, (ROWS - glyph.size[1]) // 2))
    # The package scatters 30 dots over 160 px; this window is COLS wide.
    return _finish(maker, image, colour, dots=round(30 * COLS / 160))


def _in_line(maker, char: str, draw, rng: random.Random) -> np.ndarray:
    """The glyph between two random neighbours, as the package lays out a line: (ROWS, COLS) in [0, 1].

    ``ImageCaptcha.create_captcha_image`` step by step for three characters
    (optional space glyphs, neighbours overlapping by up to a quarter of the
    average width), then the noise and blur of ``generate_image``; the
    window is centred on the middle glyph. Three glyphs never exceed 160
    pixels, so the line is not squeezed: this isolates the neighbours.
    """
    import captcha.image
    from PIL import Image

    secrets = captcha.image.secrets
    background, colour = _colours()
    chars = rng.choice(ALPHABET) + char + rng.choice(ALPHABET)
    images, middle = [], 0
    for i, c in enumerate(chars):
        if secrets.randbits(32) / (2**32) > maker.word_space_probability:
            images.append(maker._draw_character(" ", draw, colour))
        if i == 1:
            middle = len(images)
        images.append(maker._draw_character(c, draw, colour))
    text_width = sum(im.size[0] for im in images)
    width = max(text_width, maker._width)
    image = Image.new("RGB", (width, ROWS), background)
    average = int(text_width / len(chars))
    rand = int(maker.word_offset_dx * average)
    offset = int(average * 0.1)
    centre = 0
    for k, im in enumerate(images):
        w, h = im.size
        if k == middle:
            centre = offset + w // 2
        _paste(maker, image, im, (offset, int((ROWS - h) / 2)))
        offset = offset + w - secrets.randbelow(rand + 1)
    grey = _finish(maker, image, colour)
    padded = np.pad(grey, ((0, 0), (COLS, COLS)), constant_values=float(np.median(grey)))
    return padded[:, COLS + centre - COLS // 2 : COLS + centre - COLS // 2 + COLS]


def draw_glyphs(
    count: int, seed: int, scale: float = 1.0, render: str = "glyph"
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` glyphs (N, 1, H, W) in [0, 1] and labels (1 for O, 0 for 0).

    ``render="glyph"``: the glyph's own alpha mask, clean. ``"captcha"``:
    pasted, noised and blurred as in a real captcha (:func:`_as_captcha`),
    without neighbours. ``"line"``: the same between two random neighbours
    (:func:`_in_line`).
    """
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
        if render == "captcha":
            canvas = _as_captcha(maker, char, draw)
        elif render == "line":
            canvas = _in_line(maker, char, draw, rng)
        else:
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


def accuracy(train_x, train_y, test_x, test_y, *, steps: int, seed: int, shift: int = 0) -> float:
    """Test accuracy of a small CNN trained on the given glyphs for ``steps`` batches of 64.

    The same number of steps for every training size, so that only the
    number of different examples changes. ``shift`` > 0 rolls each batch by
    up to that many columns either way (for glyphs whose centre is only
    known roughly).
    """
    if len(train_x) < 64:
        # Only whole batches are drawn: fewer examples would never make one.
        raise ValueError(f"need at least 64 training examples (one batch), got {len(train_x)}")
    import torch
    from torch import nn

    torch.manual_seed(seed)
    # BatchNorm: without it the faint, noisy "captcha" renders can stall
    # training at chance level.
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(64, 2),
    )
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    x, y = torch.from_numpy(train_x), torch.from_numpy(train_y)
    rng = np.random.default_rng(seed)
    done = 0
    while done < steps:
        order = torch.randperm(len(x))
        for s in range(0, len(x) - 63, 64):
            i = order[s : s + 64]
            batch = torch.roll(x[i], int(rng.integers(-shift, shift + 1)), 3) if shift else x[i]
            loss = nn.functional.cross_entropy(net(batch), y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done == steps:
                break
    net.eval()
    with torch.no_grad():
        pred = net(torch.from_numpy(test_x)).argmax(1).numpy()
    return float((pred == test_y).mean())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, nargs="+", default=[5000, 16000], help="training sizes to try")
    parser.add_argument("--test", type=int, default=4000, help="fresh glyphs to score on")
    parser.add_argument(
        "--steps", type=int, default=1500, help="training batches of 64, the same for every size"
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="resize factor (32/60 = the reader's default height)"
    )
    parser.add_argument(
        "--render",
        choices=("glyph", "captcha", "line"),
        default="glyph",
        help="glyph: the clean alpha mask; captcha: pasted with the package's colours, noise and blur; "
        "line: the same between two random neighbours",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import captcha.image  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"this benchmark needs the 'captcha' package and torch ({exc})") from exc
    test_x, test_y = draw_glyphs(args.test, args.seed + 1, args.scale, args.render)
    for n in args.train:
        t0 = time.perf_counter()
        train_x, train_y = draw_glyphs(n, args.seed, args.scale, args.render)
        acc = accuracy(train_x, train_y, test_x, test_y, steps=args.steps, seed=args.seed)
        print(
            f"{n:>6} training glyphs: {acc:.1%} of {args.test} fresh 0/O glyphs right ({time.perf_counter() - t0:.0f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
