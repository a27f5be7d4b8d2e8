"""Can a separate 0/O classifier on the neural reader's own glyph crops beat the reader?

    python bench/imagecaptcha_crops.py --model-dir /tmp/ic_model --train /tmp/ic_train --test /tmp/ic_test

Runs a trained neural reader over two labelled folders; where its greedy
reading has the label's length, every 0 or O of the label is located by the
frames that emitted it and a window of the reader's input (its height,
``--width`` columns) is cut around it. The small CNN of
``imagecaptcha_zero_oh.py`` is trained on the training folder's windows
and scored on the test folder's; the reader's own accuracy on the same
windows is printed beside it. A benchmark only: it needs torch.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from imagecaptcha_zero_oh import accuracy  # noqa: E402  (the sibling script: the same CNN)

PAIR = "0O"


def emitted_centres(log_probs: np.ndarray) -> list[float]:
    """Centre frame of each character a greedy CTC reading emits (runs of one class, blanks apart)."""
    best = list(log_probs.argmax(1)) + [0]
    out, prev, start = [], 0, 0
    for t, b in enumerate(best):
        if b != prev or b == 0:
            if prev != 0:
                out.append((start + t - 1) / 2)
            start = t
        prev = b
    return out


def crops(reader, folder: Path, width: int):
    """Windows around every 0/O, their true class and the reader's class (-1: another character)."""
    from captcha_solver.image_io import decode_image
    from captcha_solver.neural import greedy_decode, preprocess_config

    cfg = reader.config
    xs, truth, read = [], [], []
    files = sorted(folder.glob("*.png"))
    for i in range(0, len(files), 64):
        chunk = files[i : i + 64]
        # Preprocessed once: the same arrays go to the network and to the crops.
        arrays = [preprocess_config(decode_image(f), cfg) for f in chunk]
        for f, array, lp in zip(chunk, arrays, reader.network(arrays)):
            label = f.stem
            text, _ = greedy_decode(lp, reader.charset)
            centres = emitted_centres(lp)
            if len(text) != len(label) or len(centres) != len(label):
                continue
            x = np.pad(array, ((0, 0), (width, width)))
            for true, got, frame in zip(label, text, centres):
                if true in PAIR:
                    cx = int(round(frame * cfg.frame_stride + cfg.frame_stride / 2)) + width
                    xs.append(x[:, cx - width // 2 : cx - width // 2 + width])
                    truth.append(PAIR.index(true))
                    read.append(PAIR.index(got) if got in PAIR else -1)
    if not xs:
        raise ValueError(f"{folder}: no 0 or O found in {len(files)} captchas read at their label's length")
    return np.stack(xs)[:, None].astype(np.float32), np.array(truth), np.array(read)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True, help="folder with neural_reader.onnx/.json")
    parser.add_argument(
        "--train", type=Path, required=True, help="labelled captchas to train the classifier on"
    )
    parser.add_argument("--test", type=Path, required=True, help="labelled captchas to score on")
    parser.add_argument("--width", type=int, default=48, help="window width in input columns")
    parser.add_argument("--steps", type=int, nargs="+", default=[1500, 3000], help="training batches of 64")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"this benchmark needs torch ({exc})") from exc
    from captcha_solver.neural import NeuralReader

    try:
        reader = NeuralReader.from_dir(args.model_dir, threads=2)
        train_x, train_y, _ = crops(reader, args.train, args.width)
        test_x, test_y, test_read = crops(reader, args.test, args.width)
        if len(train_x) < 64:
            raise ValueError(f"{args.train}: {len(train_x)} 0/O windows, the classifier needs at least 64")
    except (OSError, ValueError) as exc:
        raise SystemExit(f"imagecaptcha_crops: {exc}") from exc
    print(
        f"{len(train_x)} training windows, {len(test_x)} test windows; "
        f"the reader itself: {(test_read == test_y).mean():.1%} of the test 0/O right"
    )
    for steps in args.steps:
        t0 = time.perf_counter()
        # A few columns of jitter: the located centre is only frame-accurate.
        acc = accuracy(train_x, train_y, test_x, test_y, steps=steps, seed=0, shift=3)
        print(
            f"{steps:>5} steps: the classifier gets {acc:.1%} of the test 0/O right ({time.perf_counter() - t0:.0f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
