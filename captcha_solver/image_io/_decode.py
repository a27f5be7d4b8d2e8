"""``decode_image``: the only place where image files become arrays."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import cv2
import numpy as np

from captcha_solver.image_io._errors import ImageDecodeError
from captcha_solver.image_io._header import (
    FORMATS,
    HeaderError,
    ImageHeader,
    check_integrity,
    read_header,
    sniff_format,
)

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_PIXELS", "MIN_SIDE", "decode_image", "probe_image"]

MIN_SIDE = 8
#: Captchas are rarely over 1 Mpx; 4 Mpx leaves a wide margin and keeps a decompression
#: bomb cheap (a 40 Mpx one took 4 s of CPU and 630 MB in the API). Same as ``input.max_pixels``.
DEFAULT_MAX_PIXELS = 4_000_000
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

# 16-bit to 8-bit by table: value v -> round(v / 257), so 65535 maps to 255 (v >> 8 would bias
# every value down by up to one step). One uint8 output per sample, no wider temporaries.
_U16_TO_U8 = ((np.arange(65536, dtype=np.uint32) + 128) // 257).astype(np.uint8)

_FORMAT_LIST = ", ".join(FORMATS[:-1]) + " or " + FORMATS[-1]


def _read_bytes(path: Path, name: str, max_bytes: int) -> bytes:
    try:
        size = os.stat(path).st_size
        if path.is_dir():
            raise ImageDecodeError(name, f"is a folder, not an image file ({path})")
        if size > max_bytes:
            raise ImageDecodeError(name, _too_many_bytes(size, max_bytes))
        with open(path, "rb") as handle:
            # Read one byte more than allowed: the file may have grown since stat.
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise ImageDecodeError(name, f"file not found ({path})") from None
    except PermissionError:
        raise ImageDecodeError(name, f"permission denied reading {path}") from None
    except ImageDecodeError:
        raise
    except OSError as error:
        raise ImageDecodeError(name, f"cannot read file {path}: {error.strerror or error}") from None
    if len(data) > max_bytes:
        raise ImageDecodeError(name, _too_many_bytes(len(data), max_bytes, at_least=True))
    return data


def _too_many_bytes(size: int, max_bytes: int, at_least: bool = False) -> str:
    more = "more than " if at_least else ""
    return f"file is {more}{size} bytes, over the limit of {max_bytes} (input.max_bytes)"


class _QuietOpenCV:
    """Silence OpenCV's own log while any thread decodes, then restore its level.

    OpenCV prints warnings for bad files to stderr; we report the problem
    ourselves, with the file name. The level is process-wide, so concurrent
    decodes share one silenced period (counted) instead of each saving and
    restoring it, which could leave OpenCV silenced for good.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._active = 0
        self._saved = None

    def __enter__(self):
        with self._lock:
            if self._active == 0:
                self._saved = cv2.utils.logging.getLogLevel()
                cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
            self._active += 1

    def __exit__(self, *exc_info):
        with self._lock:
            self._active -= 1
            if self._active == 0:
                cv2.utils.logging.setLogLevel(self._saved)


_quiet_opencv = _QuietOpenCV()


def _imdecode(data: bytes) -> np.ndarray | None:
    with _quiet_opencv:
        try:
            return cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
        except cv2.error:
            return None


def _to_rgb8(image: np.ndarray, name: str) -> np.ndarray:
    if image.dtype not in (np.uint8, np.uint16):
        raise ImageDecodeError(name, f"unsupported sample type {image.dtype}; expected 8- or 16-bit integers")

    if image.ndim == 2:
        image = image[:, :, None]
    channels = image.shape[2]
    # Views first (channels picked, alpha dropped), then one copy to 8-bit RGB: a 4 Mpx 16-bit
    # RGBA image then needs its 32 MB plus the 12 MB result, not several wider temporaries.
    if channels in (1, 2):  # grey, grey + alpha: alpha dropped
        picked = image[:, :, :1]
    elif channels == 3:  # OpenCV's BGR
        picked = image[:, :, ::-1]
    elif channels == 4:
        # BGRA: alpha is dropped, not composited. Captchas are RGBA PNGs whose
        # transparent pixels still hold the colour drawn there, and that
        # colour is what the generator's users see when they read them.
        picked = image[:, :, 2::-1]
    else:
        raise ImageDecodeError(name, f"unsupported number of channels {channels}; expected 1 to 4")
    picked = _U16_TO_U8[picked] if picked.dtype == np.uint16 else picked
    if picked.shape[2] == 1:
        return np.repeat(picked, 3, axis=2)
    return np.ascontiguousarray(picked)


def _checked(
    source, max_pixels: int, max_bytes: int, name: str | None, caller: str
) -> tuple[bytes, ImageHeader, str]:
    """The encoded bytes, their header and the name, after every check that needs no decoding."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        name = "<bytes>" if name is None else name
        data = bytes(source)
        if len(data) > max_bytes:
            raise ImageDecodeError(name, _too_many_bytes(len(data), max_bytes))
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = path.name if name is None else name
        data = _read_bytes(path, name, max_bytes)
    else:
        raise TypeError(f"{caller} source must be a path or bytes, got {type(source).__name__}")

    if not data:
        raise ImageDecodeError(name, "empty file (0 bytes)")
    image_format = sniff_format(data)
    if image_format is None:
        raise ImageDecodeError(name, f"not a {_FORMAT_LIST} image (starts with {data[:16]!r})")
    try:
        header = read_header(data, image_format)
        width, height = header.width, header.height
        if width * height > max_pixels:
            raise ImageDecodeError(
                name,
                f"image is {width}x{height} = {width * height} pixels, "
                f"over the limit of {max_pixels} (input.max_pixels)",
            )
        if width < MIN_SIDE or height < MIN_SIDE:
            raise ImageDecodeError(
                name, f"image is {width}x{height} pixels, smaller than the minimum of {MIN_SIDE}x{MIN_SIDE}"
            )
        check_integrity(data, header)
    except HeaderError as error:
        raise ImageDecodeError(name, str(error)) from None
    return data, header, name


def _limits(limits, max_pixels: int, max_bytes: int) -> tuple[int, int]:
    """The pixel and byte limits in force: the ``input`` settings' when given, else the keywords."""
    if limits is None:
        return max_pixels, max_bytes
    return int(limits.max_pixels), int(limits.max_bytes)


def probe_image(
    source: str | os.PathLike | bytes | bytearray | memoryview,
    *,
    limits=None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    name: str | None = None,
) -> ImageHeader:
    """Run every check of :func:`decode_image` that needs no decoding, and return the header.

    The size, the format, the pixel dimensions (against ``max_pixels``) and
    the file's integrity are checked from the bytes alone, so a caller can
    refuse a decompression bomb, or reserve the memory an image will need,
    before any pixel is decoded. Its cost grows with the file's size, not
    with the image's.

    Parameters
    ----------
    source, max_pixels, max_bytes, name
        As for :func:`decode_image`.

    Returns
    -------
    header : ImageHeader
        ``format``, ``width`` and ``height`` as the file declares them.

    Raises
    ------
    ImageDecodeError
        For every reason :func:`decode_image` gives before decoding (empty,
        not an image, over ``max_bytes`` or ``max_pixels``, under 8 x 8,
        truncated or corrupt header). The message starts with the name.
    TypeError
        If ``source`` is neither a path nor bytes.
    """
    max_pixels, max_bytes = _limits(limits, max_pixels, max_bytes)
    return _checked(source, max_pixels, max_bytes, name, "probe_image")[1]


def decode_image(
    source: str | os.PathLike | bytes | bytearray | memoryview,
    *,
    limits=None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    name: str | None = None,
) -> np.ndarray:
    """Decode a PNG, JPEG, BMP, GIF, WebP or TIFF image into an RGB array.

    The file size and the pixel dimensions from the header are checked
    before anything is decoded (see :func:`probe_image`), so oversized
    files and decompression bombs are refused without allocating them.
    Truncated PNG and JPEG files are refused rather than returned partially
    decoded.

    Parameters
    ----------
    source : str, PathLike, bytes, bytearray or memoryview
        A path to an image file, or the encoded file content.
    limits : InputConfig, optional
        The ``input`` settings: their ``max_pixels`` and ``max_bytes`` win
        over the two keywords below (the one way callers pass the config's limits).
    max_pixels : int, optional
        Largest allowed ``width * height`` (config ``input.max_pixels``,
        default 4,000,000).
    max_bytes : int, optional
        Largest allowed encoded size in bytes (config ``input.max_bytes``).
    name : str, optional
        Name used at the start of error messages; defaults to the file name
        of ``source``, or ``"<bytes>"`` for in-memory data.

    Returns
    -------
    image : (H, W, 3) ndarray of uint8
        RGB, C-contiguous. 16-bit samples are scaled to 8 bits (divided by
        257, rounded); grey and palette images are expanded to RGB; an alpha
        channel is dropped (not composited). EXIF orientation is ignored.

    Raises
    ------
    ImageDecodeError
        If the data is empty, not one of the supported formats, over
        ``max_bytes`` or ``max_pixels``, smaller than 8 x 8 pixels, truncated,
        corrupt, or of an unsupported sample type. The message starts with
        the name.
    TypeError
        If ``source`` is neither a path nor bytes.

    Examples
    --------
    >>> image = decode_image("data/captcha/ab12.png")  # doctest: +SKIP
    >>> image.shape, image.dtype  # doctest: +SKIP
    ((60, 160, 3), dtype('uint8'))
    """
    max_pixels, max_bytes = _limits(limits, max_pixels, max_bytes)
    data, header, name = _checked(source, max_pixels, max_bytes, name, "decode_image")
    image_format, width, height = header
    image = _imdecode(data)
    if image is None or image.size == 0:
        raise ImageDecodeError(
            name, f"cannot decode the {image_format} data: corrupt, truncated or unsupported variant"
        )
    if image.shape[:2] != (height, width):
        # A decoder that stopped early, or a header we misread: never hand on
        # an image whose size does not match what the file declares.
        raise ImageDecodeError(
            name,
            f"decoded image is {image.shape[1]}x{image.shape[0]} but the {image_format} header says {width}x{height}",
        )
    return _to_rgb8(image, name)
