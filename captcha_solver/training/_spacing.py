"""Fitting the side-bearing table (:class:`captcha_solver.fusion.Bearings`) on labelled training captchas.

Where a captcha's plain segmentation has one blob per character, each gap
between neighbours' edges (:func:`features.glyph_extent`) is ``right(a) + left(b) + noise`` (in line heights):
least squares gives the bearings, a second fit on the squared residuals
each character's share of the noise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from captcha_solver.fusion import Bearings
from captcha_solver.image_io import read_labelled
from features import glyph_extent
from segmentation import segment

__all__ = ["bearing_samples", "fit_bearings"]

#: Training captchas measured at most: 3,000 give about 10,000 gaps, plenty for
#: 4 values per character, in under a minute.
MAX_CAPTCHAS = 3000
#: Fewest gaps a table is fitted from (below it the spreads mean little).
MIN_GAPS = 200


def bearing_samples(paths: Sequence, seg_params, input_settings=None, *, limit: int = MAX_CAPTCHAS) -> list:
    """(label, [(left, right), ...], line height) of each captcha whose blobs are its characters, one each.

    The edges are :func:`features.glyph_extent`'s, as reading measures them.

    At most ``limit`` captchas are read, spread evenly over ``paths``
    (files or (file, label) pairs, as :func:`read_labelled` takes them).
    """
    paths = list(paths)
    step = max(1, -(-len(paths) // max(limit, 1)))
    out = []
    for _path, label, rgb in read_labelled(paths[::step], input_settings, skipped=[]):
        seg = segment(rgb, seg_params)
        spans = seg.blob_spans()
        if len(spans) == len(label) > 1:
            boxes = [glyph_extent(seg.text.ink, seg.span(a, b)) for a, b in spans]
            out.append((label, boxes, float(seg.line.height)))
    return out


def fit_bearings(samples: Iterable, charset: str) -> Bearings | None:
    """The bearing table of ``samples`` (from :func:`bearing_samples`); None with fewer than ``MIN_GAPS`` gaps.

    A character never seen keeps bearing 0 and the pooled spread.
    """
    index = {c: i for i, c in enumerate(charset)}
    k = len(charset)
    rows, cols, gaps = [], [], []
    for label, boxes, height in samples:
        if any(c not in index for c in label):
            continue
        for i in range(len(label) - 1):
            rows.append(len(gaps))
            cols.append((index[label[i]], k + index[label[i + 1]]))
            gaps.append((boxes[i + 1][0] - boxes[i][1]) / max(height, 1.0))
    if len(gaps) < MIN_GAPS:
        return None
    a = np.zeros((len(gaps), 2 * k))
    for r, (right, left) in zip(rows, cols):
        a[r, right] = a[r, left] = 1.0
    y = np.array(gaps)
    # Ridge: right(a) + c and left(b) - c fit equally well; the small penalty
    # picks one of them and keeps unseen characters at 0.
    theta = np.linalg.solve(a.T @ a + 1e-3 * np.eye(2 * k), a.T @ y)
    residual = y - a @ theta
    pooled = float(residual.var())
    variance = np.linalg.solve(a.T @ a + 1e-3 * np.eye(2 * k), a.T @ residual**2)
    seen = a.sum(axis=0) > 0
    variance = np.where(seen, variance, pooled / 2)
    # A rare character can come out with a variance near 0 (or below): floor
    # it at a sixteenth of the pooled one (a quarter of its spread), so that
    # no gap is trusted to a hair.
    variance = np.maximum(variance, pooled / 16)
    return Bearings(
        charset,
        left=_floats(theta[k:]),
        right=_floats(theta[:k]),
        var_left=_floats(variance[k:]),
        var_right=_floats(variance[:k]),
        n_gaps=len(gaps),
    )


def _floats(values) -> tuple[float, ...]:
    return tuple(float(v) for v in values)
