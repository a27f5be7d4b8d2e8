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
