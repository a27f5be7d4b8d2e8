"""Fitting the side-bearing table: known bearings recovered from gaps, too little data refused, captchas measured."""

import random

import numpy as np
import pytest

from captcha_solver.generator import render_captcha
from captcha_solver.training import bearing_samples, fit_bearings
from segmentation import SegmentationParams

CHARSET = "abcdef"
LEFT = {"a": 0.05, "b": 0.12, "c": 0.08, "d": 0.02, "e": 0.10, "f": 0.06}
RIGHT = {"a": 0.07, "b": 0.03, "c": 0.11, "d": 0.09, "e": 0.04, "f": 0.08}


def _synthetic(n, noise, seed=0, height=50.0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        label = "".join(rng.choice(list(CHARSET), size=5))
        boxes, x = [], 0.0
        for i, c in enumerate(label):
            if i:
                x += (RIGHT[label[i - 1]] + LEFT[c] + rng.normal(0, noise)) * height
            boxes.append((x, x + 20.0))
            x += 20.0
        out.append((label, boxes, height))
    return out


def test_known_bearings_are_recovered():
    table = fit_bearings(_synthetic(400, 0.004), CHARSET)
    assert table is not None and table.n_gaps == 1600
    ix = {c: i for i, c in enumerate(CHARSET)}
    # right(a) + c and left(b) - c fit equally well: the gaps they predict are what is fixed.
    for a in CHARSET:
        for b in CHARSET:
            want = RIGHT[a] + LEFT[b]
            assert table.right[ix[a]] + table.left[ix[b]] == pytest.approx(want, abs=0.002)
    spread = np.sqrt(np.array(table.var_right) + np.array(table.var_left))
    assert np.all(spread < 0.01)
    # The fitted table prefers the true text of a fresh captcha to any one-letter change.
    label, boxes, height = _synthetic(1, 0.004, seed=9)[0]
    truth = table.log_likelihood(label, boxes, height)
    for i in range(len(label)):
        for c in set(CHARSET) - {label[i]}:
            if abs(LEFT[c] - LEFT[label[i]]) + abs(RIGHT[c] - RIGHT[label[i]]) > 0.03:
                other = label[:i] + c + label[i + 1 :]
                assert table.log_likelihood(other, boxes, height) < truth


def test_too_few_gaps_or_foreign_labels_give_no_table():
    assert fit_bearings(_synthetic(10, 0.004), CHARSET) is None  # 40 gaps
    foreign = [("xyz" + label[3:], boxes, h) for label, boxes, h in _synthetic(400, 0.004)]
    assert fit_bearings(foreign, CHARSET) is None


def test_captchas_are_measured_where_each_blob_is_one_character(tmp_path):
    for k, text in enumerate(["Ab3x", "lI1l", "Wq"]):
        render_captcha(text, random.Random(k)).save(tmp_path / f"{text}.png")
    samples = bearing_samples(sorted(tmp_path.glob("*.png")), SegmentationParams())
    assert samples, "no captcha of the project's generator segmented plainly"
    for label, boxes, height in samples:
        assert len(boxes) == len(label) and height > 0
        lefts = [b[0] for b in boxes]
        assert lefts == sorted(lefts) and all(right > left for left, right in boxes)
    # At most ``limit`` captchas are read, spread over the list.
    assert len(bearing_samples(sorted(tmp_path.glob("*.png")), SegmentationParams(), limit=1)) <= 1
