"""Preprocessing invariants on small synthetic arrays, and the config round trip."""

from __future__ import annotations

import numpy as np
import pytest

from captcha_solver.neural import NeuralArch as NeuralConfig
from captcha_solver.neural import crop_window, ink_box, preprocess, text_grey, to_batch


def _captcha(dark_text: bool = False, h: int = 120, w: int = 300) -> np.ndarray:
    """Grey bars as 'text' at rows 50-70, columns 100-180, on a coloured background."""
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 1] = 60  # cyan-ish background: min over channels stays 0
    img[..., 2] = 80
    img[50:70, 100:180] = 190
    img[50:70, 120:125] = 0  # a gap, so the text is not one solid block
    if dark_text:
        img = 255 - img
    return img


def test_text_grey_is_min_channel_and_text_bright():
    img = _captcha()
    grey = text_grey(img)
    assert grey.dtype == np.uint8 and grey.shape == img.shape[:2]
    assert grey[60, 150] == 190 and grey[0, 0] == 0


def test_text_grey_normalises_polarity():
    bright, dark = text_grey(_captcha()), text_grey(_captcha(dark_text=True))
    # Dark text on a light page comes out text-bright too.
    assert dark[60, 150] > dark[0, 0]
    assert bright[60, 150] > bright[0, 0]


def test_ink_box_finds_the_text():
    assert ink_box(text_grey(_captcha())) == (50, 70, 100, 180)
    assert ink_box(np.full((10, 10), 7, np.uint8)) is None


def test_crop_window_keeps_scale_and_stays_inside():
    # window_ratio 0.5 of 120 rows: a 60-row window whatever the ink height.
    y0, y1, x0, x1 = crop_window((120, 300), (50, 70, 100, 180), margin=0.1, window_ratio=0.5)
    assert y1 - y0 == 60 and y0 <= 50 and y1 >= 70
    assert x0 == 100 - 6 and x1 == 180 + 6
    # Ink at the top edge: the window slides down, never out of the image.
    y0, y1, _, _ = crop_window((120, 300), (0, 10, 0, 300), margin=0.1, window_ratio=0.5)
    assert (y0, y1) == (0, 60)
    assert crop_window((120, 300), None, margin=0.1, window_ratio=0.5) == (
        0,
        120,
        0,
        300,
    )


def test_preprocess_shape_range_and_input_untouched():
    img = _captcha()
    before = img.copy()
    x = preprocess(img, height=32, max_width=256, window_ratio=0.5)
    assert x.dtype == np.float32 and x.shape[0] == 32 and 16 <= x.shape[1] <= 256
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() == 1.0
    np.testing.assert_array_equal(img, before)


def test_preprocess_same_output_for_both_polarities():
    grey = text_grey(_captcha())
    a = preprocess(grey, height=32, max_width=256, window_ratio=0.5)
    b = preprocess(255 - grey, height=32, max_width=256, window_ratio=0.5)
    assert a.shape == b.shape
    assert np.abs(a - b).max() < 0.05


def test_preprocess_translation_invariant():
    # The seed captchas put the text anywhere: the crop removes the position.
    img = _captcha()
    moved = np.roll(np.roll(img, 30, axis=0), -60, axis=1)
    a = preprocess(img, height=32, max_width=256, window_ratio=0.5)
    b = preprocess(moved, height=32, max_width=256, window_ratio=0.5)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_preprocess_width_limits():
    wide = np.zeros((20, 2000), np.uint8)
    wide[5:15, 10:1990] = 200
    wide[5:15, ::7] = 0
    assert preprocess(wide, height=32, max_width=128, crop=False).shape == (32, 128)
    narrow = np.zeros((100, 10), np.uint8)
    narrow[20:80, 3:7] = 200
    assert preprocess(narrow, height=32, max_width=128, min_width=24, crop=False).shape == (32, 24)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((5, 5), np.float32),
        np.zeros((5, 5, 4), np.uint8),
        np.zeros((0, 5), np.uint8),
    ],
)
def test_preprocess_rejects_bad_images(bad):
    with pytest.raises(ValueError, match="expected"):
        preprocess(bad, height=32, max_width=128)


def test_to_batch_pads_with_background():
    a, b = np.ones((32, 20), np.float32), np.ones((32, 40), np.float32)
    batch, widths = to_batch([a, b], mean=0.5, std=0.5)
    assert batch.shape == (2, 1, 32, 40) and widths.tolist() == [20, 40]
    assert batch[0, 0, 0, 25] == pytest.approx(-1.0)  # padding is normalised background (0)
    assert batch[0, 0, 0, 5] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same height"):
        to_batch([a, np.ones((16, 20), np.float32)], mean=0, std=1)
    with pytest.raises(ValueError, match="at least one"):
        to_batch([], mean=0, std=1)


def test_config_json_round_trip_and_errors():
    cfg = NeuralConfig(height=48, charset="abc")
    assert NeuralConfig.from_json(cfg.to_json()) == cfg
    with pytest.raises(ValueError, match="unknown NeuralArch keys"):
        NeuralConfig.from_dict({"hieght": 32})


def test_old_metadata_with_training_fields_loads_as_the_architecture_record():
    # neural_reader/1 files (the shipped model's) also hold the training schedule: it is dropped on load.
    old = {**NeuralConfig(height=48, charset="abc").to_dict(), "epochs": 30, "lr": 0.002, "ema_decay": 0.0}
    arch = NeuralConfig.from_dict(old)
    assert arch == NeuralConfig(height=48, charset="abc")
    assert "epochs" not in arch.to_dict()
    with pytest.raises(ValueError, match="multiple of 16"):
        NeuralConfig(height=40)
    with pytest.raises(ValueError, match="repeated characters"):
        NeuralConfig(charset="abca")


def test_fixed_ink_scale_keeps_stroke_brightness():
    # Same shape, text at 190 and at 120: per-image stretching makes them
    # equal, a fixed span keeps the dimmer one dimmer (a thinner blurred stroke).
    bright = text_grey(_captcha())
    dim = bright.copy()
    dim[dim == 190] = 120
    kw = {"height": 32, "max_width": 256, "window_ratio": 0.5}
    a, b = preprocess(bright, **kw), preprocess(dim, **kw)
    assert a.max() == pytest.approx(b.max())
    a, b = (
        preprocess(bright, ink_scale=190.0, **kw),
        preprocess(dim, ink_scale=190.0, **kw),
    )
    assert b.max() == pytest.approx(a.max() * 120 / 190, rel=0.02)
