import io
import re
import struct
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

import captcha_solver.image_io._decode as decode_module
from captcha_solver.image_io import ImageDecodeError, decode_image
from tests.pngs import black_png, png_chunk


def _encode(image, fmt, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _pattern(height=40, width=50):
    """An RGB image with distinct, saturated colours so a BGR/RGB swap shows."""
    image = np.zeros((height, width, 3), np.uint8)
    image[: height // 2, : width // 2] = (255, 0, 0)
    image[: height // 2, width // 2 :] = (0, 255, 0)
    image[height // 2 :, : width // 2] = (0, 0, 255)
    image[height // 2 :, width // 2 :] = (250, 200, 20)
    return image


@pytest.fixture
def png_path(tmp_path):
    path = tmp_path / "good.png"
    Image.fromarray(_pattern()).save(path)
    return path


def _assert_rgb8(image, shape):
    assert image.dtype == np.uint8
    assert image.shape == shape
    assert image.flags.c_contiguous


# --- formats and modes -------------------------------------------------------


def test_png_rgb_exact(png_path):
    image = decode_image(png_path)
    _assert_rgb8(image, (40, 50, 3))
    np.testing.assert_array_equal(image, _pattern())


@pytest.mark.parametrize(
    ("fmt", "kwargs"),
    [
        ("BMP", {}),
        ("TIFF", {}),
        ("WEBP", {"lossless": True}),
        ("GIF", {}),  # the pattern has 4 colours, so the GIF palette is exact
    ],
)
def test_lossless_formats_exact(tmp_path, fmt, kwargs):
    path = tmp_path / f"image.{fmt.lower()}"
    Image.fromarray(_pattern()).save(path, fmt, **kwargs)
    image = decode_image(path)
    _assert_rgb8(image, (40, 50, 3))
    np.testing.assert_array_equal(image, _pattern())


@pytest.mark.parametrize(("fmt", "kwargs"), [("JPEG", {"quality": 95}), ("WEBP", {"quality": 90})])
def test_lossy_formats_close_and_rgb_order(tmp_path, fmt, kwargs):
    path = tmp_path / f"image.{fmt.lower()}"
    Image.fromarray(_pattern()).save(path, fmt, **kwargs)
    image = decode_image(path)
    _assert_rgb8(image, (40, 50, 3))
    # Compare block centres, away from compression ringing at the edges.
    for y, x in [(10, 12), (10, 37), (30, 12), (30, 37)]:
        np.testing.assert_allclose(image[y, x], _pattern()[y, x], atol=12)


def test_palette_png_expanded(tmp_path):
    indices = np.zeros((16, 16), np.uint8)
    indices[8:, :] = 1
    palette_image = Image.fromarray(indices, mode="P")
    palette_image.putpalette([10, 20, 30, 200, 100, 50] + [0, 0, 0] * 254)
    path = tmp_path / "palette.png"
    palette_image.save(path)
    image = decode_image(path)
    _assert_rgb8(image, (16, 16, 3))
    assert tuple(image[0, 0]) == (10, 20, 30)
    assert tuple(image[15, 15]) == (200, 100, 50)


def test_greyscale_png_replicated(tmp_path):
    grey = np.arange(16 * 16, dtype=np.uint8).reshape(16, 16)
    path = tmp_path / "grey.png"
    Image.fromarray(grey, mode="L").save(path)
    image = decode_image(path)
    _assert_rgb8(image, (16, 16, 3))
    for channel in range(3):
        np.testing.assert_array_equal(image[:, :, channel], grey)


def test_rgb16_png_scaled_by_257(tmp_path):
    rgb16 = np.zeros((10, 10, 3), np.uint16)
    rgb16[..., 0] = 65535
    rgb16[..., 1] = 257 * 10 + 200  # 10.78 -> 11 (truncation with >> 8 would give 10)
    rgb16[..., 2] = 128  # 0.498 -> 0
    rgb16[0, 0] = (129, 257, 0)  # 0.502 -> 1, exactly 1, 0
    path = tmp_path / "rgb16.png"
    assert cv2.imwrite(str(path), rgb16[:, :, ::-1])  # OpenCV writes BGR
    image = decode_image(path)
    _assert_rgb8(image, (10, 10, 3))
    assert tuple(image[5, 5]) == (255, 11, 0)
    assert tuple(image[0, 0]) == (1, 1, 0)


def test_grey16_png_scaled_and_replicated(tmp_path):
    grey16 = np.full((10, 12), 257 * 100, np.uint16)
    grey16[0, 0] = 65535
    path = tmp_path / "grey16.png"
    assert cv2.imwrite(str(path), grey16)
    image = decode_image(path)
    _assert_rgb8(image, (10, 12, 3))
    assert tuple(image[5, 5]) == (100, 100, 100)
    assert tuple(image[0, 0]) == (255, 255, 255)


def test_rgba_alpha_dropped_not_composited(tmp_path):
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., :3] = (200, 10, 30)
    rgba[..., 3] = 255
    rgba[:5, :5, 3] = 0  # fully transparent corner still carries its colour
    rgba[:5, :5, :3] = (1, 250, 7)
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    image = decode_image(path)
    _assert_rgb8(image, (20, 20, 3))
    np.testing.assert_array_equal(image, rgba[..., :3])
    assert tuple(image[0, 0]) == (1, 250, 7)


def test_grey_alpha_dropped(tmp_path):
    la = np.zeros((12, 12, 2), np.uint8)
    la[..., 0] = 77
    la[..., 1] = 0
    path = tmp_path / "la.png"
    Image.fromarray(la, mode="LA").save(path)
    image = decode_image(path)
    _assert_rgb8(image, (12, 12, 3))
    assert (image == 77).all()


def test_bytes_input_and_name(png_path):
    data = png_path.read_bytes()
    np.testing.assert_array_equal(decode_image(data), _pattern())
    np.testing.assert_array_equal(decode_image(bytearray(data)), _pattern())
    np.testing.assert_array_equal(decode_image(memoryview(data)), _pattern())
    with pytest.raises(ImageDecodeError, match=r"^upload\.png: empty file"):
        decode_image(b"", name="upload.png")


def test_image_io_does_not_import_pillow():
    code = "import sys, captcha_solver.image_io; assert 'PIL' not in sys.modules, 'image_io imported Pillow'"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- refusals ------------------------------------------------------------------


def test_text_file_refused(tmp_path):
    path = tmp_path / "bad.png"
    path.write_bytes(b"hello")
    with pytest.raises(
        ImageDecodeError,
        match=re.escape("bad.png: not a PNG, JPEG, BMP, GIF, WebP or TIFF image (starts with b'hello')"),
    ) as info:
        decode_image(path)
    assert info.value.name == "bad.png"
    assert isinstance(info.value, ValueError)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageDecodeError, match=r"^empty\.png: empty file \(0 bytes\)"):
        decode_image(path)


def test_bytes_error_named_bytes():
    with pytest.raises(ImageDecodeError, match=r"^<bytes>: not a PNG"):
        decode_image(b"GIF90a not really")


def test_truncated_png(png_path, tmp_path):
    data = png_path.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageDecodeError, match=r"^cut\.png: truncated PNG"):
        decode_image(cut)


def test_png_without_iend(png_path):
    data = png_path.read_bytes()
    assert data.endswith(png_chunk(b"IEND", b""))
    with pytest.raises(ImageDecodeError, match="truncated PNG: the file ends before the IEND chunk"):
        decode_image(data[:-12])


def test_png_crc_mismatch(png_path):
    data = bytearray(png_path.read_bytes())
    data[45] ^= 0xFF  # inside the first IDAT payload
    with pytest.raises(ImageDecodeError, match="corrupt PNG: CRC mismatch in chunk 'IDAT'"):
        decode_image(bytes(data))


def test_png_without_idat():
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 0, 0, 0, 0))
    data = b"\x89PNG\r\n\x1a\n" + ihdr + png_chunk(b"IEND", b"")
    with pytest.raises(ImageDecodeError, match=r"corrupt PNG: no image data \(IDAT chunk\)"):
        decode_image(data)


def test_png_bad_first_chunk():
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"tEXt", b"x" * 13) + b"\x00" * 12
    with pytest.raises(
        ImageDecodeError, match="corrupt PNG: the first chunk is b'tEXt' of 13 bytes, expected IHDR"
    ):
        decode_image(data)


def test_decompression_bomb_refused_from_header(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    path.write_bytes(black_png(20000))
    assert path.stat().st_size < 1_000_000

    def must_not_decode(*args, **kwargs):
        raise AssertionError("the bomb reached the decoder")

    monkeypatch.setattr(decode_module.cv2, "imdecode", must_not_decode)
    with pytest.raises(
        ImageDecodeError,
        match=re.escape(
            "bomb.png: image is 20000x20000 = 400000000 pixels, over the limit of 4000000 (input.max_pixels)"
        ),
    ):
        decode_image(path)


def _webp_vp8x(image):
    exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    return _encode(Image.fromarray(image), "WEBP", lossless=True, exif=exif)


@pytest.mark.parametrize(
    "encoder",
    [
        lambda im: _encode(Image.fromarray(im), "PNG"),
        lambda im: _encode(Image.fromarray(im), "JPEG"),
        lambda im: _encode(Image.fromarray(im), "BMP"),
        lambda im: _encode(Image.fromarray(im), "GIF"),
        lambda im: _encode(Image.fromarray(im), "WEBP", quality=80),  # VP8
        lambda im: _encode(Image.fromarray(im), "WEBP", lossless=True),  # VP8L
        _webp_vp8x,
        lambda im: _encode(Image.fromarray(im), "TIFF"),
        lambda im: cv2.imencode(".tiff", im)[1].tobytes(),  # big or little endian per OpenCV's libtiff
    ],
    ids=["png", "jpeg", "bmp", "gif", "webp-vp8", "webp-vp8l", "webp-vp8x", "tiff", "tiff-cv2"],
)
def test_header_size_checked_before_decoding_for_every_format(encoder, monkeypatch):
    data = encoder(_pattern(40, 50))
    monkeypatch.setattr(decode_module.cv2, "imdecode", lambda *a: pytest.fail("decoded despite the limit"))
    with pytest.raises(
        ImageDecodeError, match=re.escape("image is 50x40 = 2000 pixels, over the limit of 1999")
    ):
        decode_image(data, max_pixels=1999)


def test_max_bytes_path_and_bytes(png_path):
    size = png_path.stat().st_size
    with pytest.raises(
        ImageDecodeError,
        match=re.escape(f"good.png: file is {size} bytes, over the limit of {size - 1} (input.max_bytes)"),
    ):
        decode_image(png_path, max_bytes=size - 1)
    with pytest.raises(ImageDecodeError, match=r"^<bytes>: file is \d+ bytes, over the limit of 10 "):
        decode_image(png_path.read_bytes(), max_bytes=10)
    assert decode_image(png_path, max_bytes=size).shape == (40, 50, 3)


def test_tiny_image_refused(tmp_path):
    path = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((4, 9, 3), np.uint8)).save(path)
    with pytest.raises(
        ImageDecodeError, match=r"tiny\.png: image is 9x4 pixels, smaller than the minimum of 8x8"
    ):
        decode_image(path)


def test_truncated_jpeg_without_eoi(tmp_path):
    data = _encode(Image.fromarray(_pattern()), "JPEG")
    with pytest.raises(ImageDecodeError, match="truncated JPEG: no end-of-image"):
        decode_image(data[: int(len(data) * 0.8)])
    with pytest.raises(ImageDecodeError, match=r"truncated JPEG: ends before the image data \(SOS\)"):
        decode_image(data[:30])


def test_jpeg_with_trailing_bytes_after_eoi_accepted():
    data = _encode(Image.fromarray(_pattern()), "JPEG") + b"\x00" * 16
    assert decode_image(data).shape == (40, 50, 3)


def test_jpeg_without_frame_header():
    data = b"\xff\xd8\xff\xda\x00\x02" + b"\x00" * 20 + b"\xff\xd9"
    with pytest.raises(ImageDecodeError, match=r"corrupt JPEG: no frame header \(SOF\)"):
        decode_image(data)


def test_jpeg_bad_marker():
    with pytest.raises(ImageDecodeError, match="corrupt JPEG: expected a marker at byte 6, found 0x41"):
        decode_image(b"\xff\xd8\xff\xe0\x00\x02AAAA")


def test_jpeg_dnl_height_unsupported():
    sof = b"\xff\xc0\x00\x0b\x08\x00\x00\x00\x10\x01\x01\x11\x00"
    with pytest.raises(ImageDecodeError, match="unsupported JPEG: height is defined by a DNL marker"):
        decode_image(b"\xff\xd8" + sof + b"\xff\xda\x00\x02\x00\xff\xd9")


def test_top_down_bmp_negative_height():
    data = bytearray(_encode(Image.fromarray(_pattern()), "BMP"))
    data[22:26] = struct.pack("<i", -40)  # same rows, now declared top-down
    image = decode_image(bytes(data))
    np.testing.assert_array_equal(image, _pattern()[::-1])


def test_truncated_bmp():
    data = _encode(Image.fromarray(_pattern()), "BMP")
    with pytest.raises(ImageDecodeError, match=r"truncated BMP: \d+ bytes, the pixel rows need \d+"):
        decode_image(data[:-10])
    with pytest.raises(ImageDecodeError, match="truncated BMP: 20 bytes, the header alone needs 26"):
        decode_image(data[:20])


def test_bmp_bad_dib_header():
    data = bytearray(_encode(Image.fromarray(_pattern()), "BMP"))
    data[14:18] = struct.pack("<I", 5)
    with pytest.raises(ImageDecodeError, match="corrupt BMP: DIB header size 5 is not a known BMP header"):
        decode_image(bytes(data))


def test_truncated_webp():
    data = _encode(Image.fromarray(_pattern()), "WEBP", lossless=True)
    with pytest.raises(ImageDecodeError, match=r"truncated WebP: \d+ bytes, the RIFF header announces \d+"):
        decode_image(data[:-5])


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ((12, b"ABCD"), r"corrupt WebP: unknown first chunk b'ABCD', expected VP8, VP8L or VP8X"),
        ((20, b"\x00"), "corrupt WebP: bad VP8L signature"),
    ],
)
def test_corrupt_webp_header(patch, message):
    data = bytearray(_encode(Image.fromarray(_pattern()), "WEBP", lossless=True))
    offset, value = patch
    data[offset : offset + len(value)] = value
    with pytest.raises(ImageDecodeError, match=message):
        decode_image(bytes(data))


def test_corrupt_webp_vp8_start_code():
    data = bytearray(_encode(Image.fromarray(_pattern()), "WEBP", quality=80))
    data[23] = 0
    with pytest.raises(ImageDecodeError, match="corrupt WebP: bad VP8 start code"):
        decode_image(bytes(data))


def test_truncated_gif_and_tiff_refused_by_decoder():
    gif = _encode(Image.fromarray(_pattern()), "GIF")
    with pytest.raises(
        ImageDecodeError, match="cannot decode the GIF data: corrupt, truncated or unsupported variant"
    ):
        decode_image(gif[: len(gif) // 2])
    tiff = _encode(Image.fromarray(_pattern()), "TIFF")
    with pytest.raises(ImageDecodeError, match="cannot decode the TIFF data"):
        decode_image(tiff[: len(tiff) // 2])


def test_tiff_errors():
    with pytest.raises(ImageDecodeError, match="unsupported TIFF: BigTIFF files are not read"):
        decode_image(b"II+\x00" + b"\x00" * 40)
    with pytest.raises(
        ImageDecodeError, match="truncated TIFF: first directory at byte 4096 is past the end"
    ):
        decode_image(b"II*\x00" + struct.pack("<I", 4096) + b"\x00" * 40)
    with pytest.raises(ImageDecodeError, match="truncated TIFF: first directory is cut short"):
        decode_image(b"II*\x00" + struct.pack("<IH", 8, 5) + b"\x00" * 20)
    with pytest.raises(ImageDecodeError, match="corrupt TIFF: no ImageWidth/ImageLength tags"):
        decode_image(b"II*\x00" + struct.pack("<IH", 8, 0) + b"\x00" * 4)


def test_float_tiff_unsupported_sample_type():
    data = _encode(Image.fromarray(np.ones((10, 10), np.float32), mode="F"), "TIFF")
    with pytest.raises(
        ImageDecodeError, match="unsupported sample type float32; expected 8- or 16-bit integers"
    ):
        decode_image(data)


def test_decoded_size_must_match_header(png_path, monkeypatch):
    monkeypatch.setattr(decode_module, "_imdecode", lambda data: np.zeros((20, 50, 3), np.uint8))
    with pytest.raises(ImageDecodeError, match="decoded image is 50x20 but the PNG header says 50x40"):
        decode_image(png_path)


def test_unsupported_channel_count(png_path, monkeypatch):
    monkeypatch.setattr(decode_module, "_imdecode", lambda data: np.zeros((40, 50, 5), np.uint8))
    with pytest.raises(ImageDecodeError, match="unsupported number of channels 5; expected 1 to 4"):
        decode_image(png_path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageDecodeError, match=r"^nope\.png: file not found \("):
        decode_image(tmp_path / "nope.png")
    folder = tmp_path / "dir.png"
    folder.mkdir()
    with pytest.raises(ImageDecodeError, match=r"^dir\.png: is a folder, not an image file"):
        decode_image(folder)


def test_source_of_wrong_type():
    with pytest.raises(TypeError, match="decode_image source must be a path or bytes, got int"):
        decode_image(42)


def test_opencv_log_level_restored_after_bad_file():
    before = cv2.utils.logging.getLogLevel()
    gif = _encode(Image.fromarray(_pattern()), "GIF")
    with pytest.raises(ImageDecodeError):
        decode_image(gif[: len(gif) // 2])
    assert cv2.utils.logging.getLogLevel() == before


def test_concurrent_decoding(png_path):
    from concurrent.futures import ThreadPoolExecutor

    before = cv2.utils.logging.getLogLevel()
    with ThreadPoolExecutor(8) as pool:
        images = list(pool.map(decode_image, [png_path] * 64))
    assert all((image == _pattern()).all() for image in images)
    assert cv2.utils.logging.getLogLevel() == before
