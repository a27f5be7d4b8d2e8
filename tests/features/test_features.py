import random

import numpy as np
import pytest
from skimage.feature import hog

from captcha_solver.generator import render_captcha
from features import GEOMETRY_NAMES, FeatureParams, extract_features, feature_count, glyph_image, hog_batch
from segmentation import segment


@pytest.mark.parametrize("size, ppc, cpb, orientations", [(32, 8, 2, 9), (24, 6, 3, 12), (40, 8, 1, 6)])
def test_hog_batch_matches_scikit_image(size, ppc, cpb, orientations):
    rng = np.random.default_rng(size)
    images = rng.random((4, size, size))
    images[1] = 0.0  # flat image: all-zero descriptor
    ours = hog_batch(images, orientations=orientations, pixels_per_cell=ppc, cells_per_block=cpb)
    ref = np.stack(
        [
            hog(im, orientations=orientations, pixels_per_cell=(ppc, ppc), cells_per_block=(cpb, cpb))
            for im in images
        ]
    )
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_hog_batch_errors():
    with pytest.raises(ValueError, match="too small"):
        hog_batch(np.zeros((1, 8, 8)), pixels_per_cell=8, cells_per_block=2)
    with pytest.raises(ValueError, match=r"\(N, rows, cols\) batch"):
        hog_batch(np.zeros((8, 8)))


def test_glyph_image_keeps_aspect_and_centres():
    crop = np.ones((40, 10), np.float32)
    out = glyph_image(crop, 32)
    cols = np.flatnonzero(out.max(axis=0) > 0)
    rows = np.flatnonzero(out.max(axis=1) > 0)
    assert rows.size == 28 and cols.size == 7  # 7/8 of 32 for the long side
    assert abs((cols[0] + cols[-1]) / 2 - 15.5) <= 1


def _features(text, seed):
    image = np.ascontiguousarray(np.asarray(render_captcha(text, random.Random(seed)))[..., :3])
    seg = segment(image)
    return extract_features(seg, seg.blob_spans(), FeatureParams())


def test_feature_vector_length_and_height_cue_separates_case():
    X = _features("cCoO", seed=1)
    assert X.shape == (4, feature_count(FeatureParams()))
    height = X[:, -len(GEOMETRY_NAMES) + GEOMETRY_NAMES.index("height_px")]
    assert height[1] > 1.2 * height[0] and height[3] > 1.2 * height[2]


def test_stroke_cue_tracks_stroke_width():
    X = _features("lW", seed=2)
    stroke = X[:, -len(GEOMETRY_NAMES) + GEOMETRY_NAMES.index("stroke_px")]
    assert 0.4 < stroke[0] < 1.5  # an l is one stroke: about 8-10 px at size 95
    assert stroke[1] > stroke[0]  # W crosses a row several times


def _bar(x0: float, x1: float, width: int = 40, height: int = 20) -> np.ndarray:
    """A vertical bar of full ink over [x0, x1) with linear 2-px ramps, at sub-pixel positions."""
    xs = np.arange(width) + 0.5
    profile = np.clip(np.minimum(xs - (x0 - 2), (x1 + 2) - xs) / 4, 0, 1)
    return np.tile(profile.astype(np.float32), (height, 1))


def test_glyph_extent_reads_edges_between_pixels():
    from features import glyph_extent
    from segmentation import Blob

    edges = []
    for shift in (0.0, 0.25, 0.5):
        ink = _bar(12.0 + shift, 20.0 + shift)
        mask = ink[2:18, 11:23] > 0.6
        blob = Blob(x0=11, y0=2, x1=23, y1=18, mask=mask)
        edges.append(glyph_extent(ink, blob))
    # The edges follow the bar by the fraction of a pixel it moved, which the mask cannot.
    for (left, right), shift in zip(edges, (0.0, 0.25, 0.5)):
        assert left - edges[0][0] == pytest.approx(shift, abs=0.05)
        assert right - edges[0][1] == pytest.approx(shift, abs=0.05)
        assert right - left == pytest.approx(edges[0][1] - edges[0][0], abs=0.05)
    # No column reaches the level: the blob's own columns.
    blob = Blob(x0=11, y0=2, x1=23, y1=18, mask=np.ones((16, 12), bool))
    assert glyph_extent(np.zeros((20, 40), np.float32), blob) == (11.0, 22.0)
