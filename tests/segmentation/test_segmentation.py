import random

import numpy as np
import pytest

from captcha_solver.generator import render_captcha
from segmentation import (
    Blob,
    binarize,
    cut_columns,
    find_blobs,
    merge_marks,
    segment,
    split_blob,
    text_map,
)


def _rgb(text, seed=0, background=None):
    image = render_captcha(text, random.Random(seed), background=background)
    return np.ascontiguousarray(np.asarray(image)[..., :3])


def test_text_map_bright_text_on_dark():
    image = np.zeros((40, 60, 3), np.uint8)
    image[10:30, 20:40] = 180
    tm = text_map(image)
    assert not tm.inverted
    assert tm.ink[20, 30] == pytest.approx(1.0) and tm.ink[0, 0] == 0.0


def test_text_map_dark_text_on_light_is_inverted():
    image = np.full((40, 60), 230, np.uint8)
    image[15:25, 25:35] = 20
    tm = text_map(image)
    assert tm.inverted
    assert tm.ink[20, 30] == pytest.approx(1.0) and tm.ink[0, 0] == 0.0


def test_text_map_flat_image_has_no_ink():
    assert text_map(np.full((20, 20, 3), 77, np.uint8)).ink.max() == 0.0


@pytest.mark.parametrize(
    "bad", [np.zeros((4, 4), np.float32), np.zeros((0, 3, 3), np.uint8), np.zeros((2, 2, 2, 2), np.uint8)]
)
def test_text_map_rejects_bad_arrays(bad):
    with pytest.raises(ValueError, match="expected a uint8"):
        text_map(bad)


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.1])
def test_binarize_ratio_checked(ratio):
    with pytest.raises(ValueError, match=r"threshold_ratio must be in \(0, 1\)"):
        binarize(np.zeros((3, 3), np.float32), ratio)


def test_find_blobs_drops_specks_and_orders_left_to_right():
    mask = np.zeros((50, 100), np.uint8)
    mask[10:40, 60:70] = 1  # right glyph
    mask[10:40, 10:20] = 1  # left glyph
    mask[2:4, 90:92] = 1  # speck
    blobs = find_blobs(mask, min_area=30, min_area_ratio=0.03)
    assert [(b.x0, b.x1) for b in blobs] == [(10, 20), (60, 70)]


def test_merge_marks_joins_the_dot_of_an_i():
    mask = np.zeros((60, 80), np.uint8)
    mask[20:55, 10:16] = 1  # stem of i
    mask[8:14, 10:16] = 1  # its dot
    mask[20:55, 40:60] = 1  # a neighbour
    blobs = merge_marks(find_blobs(mask, min_area=5, min_area_ratio=0.0), dot_max_area_ratio=0.25)
    assert len(blobs) == 2
    assert (blobs[0].y0, blobs[0].y1) == (8, 55)


def test_cut_columns_finds_the_bridge():
    profile = np.array([5, 9, 9, 9, 8, 1, 8, 9, 9, 9, 5], float)
    assert cut_columns(profile, min_piece=3, max_cuts=2, max_depth_ratio=0.5) == [5]
    assert cut_columns(profile, min_piece=6, max_cuts=2, max_depth_ratio=0.5) == []


def test_split_blob_pieces_cover_the_blob():
    mask = np.ones((10, 12), bool)
    blob = Blob(5, 5, 17, 15, mask)
    pieces = split_blob(blob, [4, 8])
    assert [(p.x0, p.x1) for p in pieces] == [(5, 9), (9, 13), (13, 17)]
    assert sum(p.area for p in pieces) == blob.area


def test_segment_counts_glyphs_without_knowing_the_text():
    for seed, text in enumerate(["Ab3", "xyZ9", "Hello", "QRS7k2"]):
        seg = segment(_rgb(text, seed=seed + 10))
        assert len(seg.blobs) == len(text), text
        # Reading order is left to right.
        assert [b.center_x for b in seg.blobs] == sorted(b.center_x for b in seg.blobs)


def test_segment_merges_i_and_j_dots():
    seg = segment(_rgb("ijij", seed=3))
    assert len(seg.blobs) == 4


def test_segment_is_pure():
    image = _rgb("Pure", seed=4)
    before = image.copy()
    a, b = segment(image), segment(image)
    assert np.array_equal(image, before)
    assert [(x.x0, x.y0, x.x1, x.y1) for x in a.blobs] == [(x.x0, x.y0, x.x1, x.y1) for x in b.blobs]


def test_candidate_spans_include_the_plain_segmentation():
    seg = segment(_rgb("mWab", seed=5))
    spans = seg.candidate_spans(3, 1.4)
    assert set(seg.blob_spans()) <= set(spans)
    assert all(0 <= s < e <= len(seg.atoms) for s, e in spans)


def test_empty_captcha_gives_no_glyphs():
    seg = segment(np.zeros((60, 120, 3), np.uint8))
    assert seg.blobs == [] and seg.atoms == []
