import numpy as np
import pytest

from captcha_solver.ui._draw import confidence_colour, draw_segmentation


def test_draws_boxes_on_a_copy_with_a_label_band():
    image = np.zeros((60, 160, 3), np.uint8)
    out = draw_segmentation(image, [(10, 10, 20, 30), (40, 12, 20, 30)], "ab", [0.9, 0.2], min_height=120)
    assert image.max() == 0  # input untouched
    assert out.dtype == np.uint8 and out.shape[1] == 320 and out.shape[0] > 120
    band = out.shape[0] - 120
    # The box outline of glyph 0 (scaled x2) is drawn in its confidence colour.
    assert tuple(out[band + 20, 20]) == confidence_colour(0.9)
    assert tuple(out[band + 24, 80]) == confidence_colour(0.2)


def test_more_boxes_than_characters_is_drawn_with_question_marks():
    out = draw_segmentation(np.zeros((40, 40, 3), np.uint8), [(1, 1, 5, 5), (10, 1, 5, 5)], "a", [0.5])
    assert out.shape[2] == 3


def test_confidence_colour_goes_from_red_to_green():
    red, green = confidence_colour(0.0), confidence_colour(1.0)
    assert red[0] > red[1] and green[1] > green[0]
    assert confidence_colour(-1) == red and confidence_colour(2) == green


def test_refuses_non_rgb_input():
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8 RGB array, got float64"):
        draw_segmentation(np.zeros((10, 10, 3)), [], "", [])
