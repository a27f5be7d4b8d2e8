"""The checks made before decoding: the default pixel limit, ``probe_image``, and the memory of the 16-bit path."""

import re
import tracemalloc

import cv2
import numpy as np
import pytest

import captcha_solver.image_io._decode as decode_module
from captcha_solver.image_io import (
    DEFAULT_MAX_PIXELS,
    ImageDecodeError,
    ImageHeader,
    decode_image,
    probe_image,
)
from tests.pngs import black_png


@pytest.fixture
def no_decoding(monkeypatch):
    monkeypatch.setattr(decode_module.cv2, "imdecode", lambda *a: pytest.fail("pixels were decoded"))


def test_default_limit_refuses_a_bomb_under_the_old_limit(no_decoding):
    # 6324 x 6324 = 39.99 Mpx in a few KB: it passed the old 40 Mpx default and cost the API
    # 4 s of CPU and 630 MB. A captcha is rarely over 1 Mpx.
    bomb = black_png(6324)
    assert len(bomb) < 20_000
    assert DEFAULT_MAX_PIXELS == 4_000_000
    message = "bomb.png: image is 6324x6324 = 39992976 pixels, over the limit of 4000000 (input.max_pixels)"
    with pytest.raises(ImageDecodeError, match=re.escape(message)):
        decode_image(bomb, name="bomb.png")
    with pytest.raises(ImageDecodeError, match=re.escape(message)):
        probe_image(bomb, name="bomb.png")


def test_probe_returns_the_header_without_decoding(no_decoding):
    data = cv2.imencode(".png", np.zeros((40, 50, 3), np.uint8))[1].tobytes()
    assert probe_image(data) == ImageHeader("PNG", 50, 40)
    jpeg = cv2.imencode(".jpg", np.zeros((30, 20, 3), np.uint8))[1].tobytes()
    assert probe_image(jpeg, max_pixels=600) == ImageHeader("JPEG", 20, 30)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "up.png: empty file (0 bytes)"),
        (b"hello", "up.png: not a PNG, JPEG"),
        (black_png(2001), "up.png: image is 2001x2001 = 4004001 pixels, over the limit of 4000000"),
        (black_png(64)[:-20], "up.png: truncated PNG"),
        (black_png(4), "up.png: image is 4x4 pixels, smaller than the minimum of 8x8"),
    ],
    ids=["empty", "not-an-image", "over-the-limit", "truncated", "too-small"],
)
def test_probe_refuses_what_decode_refuses_before_decoding(data, message, no_decoding):
    with pytest.raises(ImageDecodeError, match="^" + re.escape(message)):
        probe_image(data, name="up.png")
    with pytest.raises(ImageDecodeError, match="^" + re.escape(message)):
        decode_image(data, name="up.png")


def test_probe_reads_files_and_checks_their_size(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(black_png(64))
    assert probe_image(path) == ImageHeader("PNG", 64, 64)
    with pytest.raises(
        ImageDecodeError, match=r"^big\.png: file is \d+ bytes, over the limit of 10 \(input\.max_bytes"
    ):
        probe_image(path, max_bytes=10)
    with pytest.raises(TypeError, match="probe_image source must be a path or bytes, got int"):
        probe_image(3)


def test_16_bit_conversion_allocates_only_its_result():
    # A 16-bit RGBA image became 8-bit through uint32 temporaries: 40 bytes a pixel at the peak
    # for a 4 Mpx upload of 31 KB. Now the table lookup writes the 3-byte RGB result directly.
    height, width = 500, 400
    bgra16 = np.full((height, width, 4), 257 * 7, np.uint16)
    bgra16[..., 2] = 65535  # red
    tracemalloc.start()
    try:
        rgb = decode_module._to_rgb8(bgra16, "x.png")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rgb.dtype == np.uint8 and rgb.shape == (height, width, 3) and rgb.flags.c_contiguous
    assert tuple(rgb[0, 0]) == (255, 7, 7)
    assert peak < 4 * height * width, f"{peak / (height * width):.1f} bytes a pixel"
