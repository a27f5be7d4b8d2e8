"""Format sniffing and pixel dimensions read from file headers, without decoding.

Decoders allocate the full image before reading pixels, so a tiny file that
claims to be 20000 x 20000 (a decompression bomb) must be refused from its
header. The integrity checks catch truncated files that some decoders would
otherwise return as partially grey images.
"""

from __future__ import annotations

import struct
import zlib
from typing import NamedTuple

__all__ = ["FORMATS", "ImageHeader", "check_integrity", "read_header", "sniff_format"]

FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WebP", "TIFF")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class HeaderError(Exception):
    """Raised by the parsers with the reason only; decode_image adds the file name."""


class ImageHeader(NamedTuple):
    """What the header says about an image.

    Attributes
    ----------
    format : str
        One of :data:`FORMATS`.
    width, height : int
        Pixel dimensions.
    """

    format: str
    width: int
    height: int


def sniff_format(data: bytes) -> str | None:
    """Return the format named by the magic bytes at the start of ``data``, or None."""
    if data.startswith(_PNG_SIGNATURE):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"BM"):
        return "BMP"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    return None


def _need(data: bytes, size: int, what: str) -> None:
    if len(data) < size:
        raise HeaderError(f"truncated {what}: {len(data)} bytes, the header alone needs {size}")


def _png(data: bytes) -> tuple[int, int]:
    _need(data, 33, "PNG")
    length, kind = struct.unpack(">I4s", data[8:16])
    if kind != b"IHDR" or length != 13:
        raise HeaderError(f"corrupt PNG: the first chunk is {kind!r} of {length} bytes, expected IHDR of 13")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# SOF markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers that stand alone, without a length field.
_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01, 0xD8}


def _jpeg_segments(data: bytes):
    """Yield (marker, offset of the segment payload, payload length) up to and including SOS."""
    pos, n = 2, len(data)
    while True:
        if pos >= n:
            raise HeaderError("truncated JPEG: ends before the image data (SOS)")
        if data[pos] != 0xFF:
            raise HeaderError(f"corrupt JPEG: expected a marker at byte {pos}, found 0x{data[pos]:02x}")
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            raise HeaderError("truncated JPEG: ends inside a marker")
        marker = data[pos]
        pos += 1
        if marker in _STANDALONE:
            continue
        if marker == 0xD9:
            raise HeaderError("corrupt JPEG: end-of-image marker before any image data")
        if pos + 2 > n:
            raise HeaderError("truncated JPEG: ends inside a segment header")
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if length < 2:
            raise HeaderError(f"corrupt JPEG: segment 0xff{marker:02x} has length {length}")
        yield marker, pos + 2, length - 2
        if marker == 0xDA:
            return
        pos += length


def _jpeg(data: bytes) -> tuple[int, int]:
    for marker, start, length in _jpeg_segments(data):
        if marker in _SOF_MARKERS:
            if length < 5 or start + 5 > len(data):
                raise HeaderError("truncated JPEG: frame header (SOF) cut short")
            height, width = struct.unpack(">HH", data[start + 1 : start + 5])
            if height == 0:
                raise HeaderError(
                    "unsupported JPEG: height is defined by a DNL marker (height 0 in the frame header)"
                )
            return width, height
        if marker == 0xDA:
            break
    raise HeaderError("corrupt JPEG: no frame header (SOF) before the image data")


def _bmp(data: bytes) -> tuple[int, int]:
    _need(data, 26, "BMP")
    (dib_size,) = struct.unpack("<I", data[14:18])
    if dib_size == 12:  # BITMAPCOREHEADER (OS/2 1.x)
        width, height = struct.unpack("<HH", data[18:22])
    elif dib_size >= 16:
        width, height = struct.unpack("<ii", data[18:26])
    else:
        raise HeaderError(f"corrupt BMP: DIB header size {dib_size} is not a known BMP header")
    # A negative height means rows are stored top-down.
    return width, abs(height)


def _gif(data: bytes) -> tuple[int, int]:
    _need(data, 13, "GIF")
    return struct.unpack("<HH", data[6:10])


def _webp(data: bytes) -> tuple[int, int]:
    _need(data, 30, "WebP")
    chunk = data[12:16]
    if chunk == b"VP8 ":  # lossy: 3-byte frame tag, start code, 14-bit sizes
        if data[23:26] != b"\x9d\x01\x2a":
            raise HeaderError("corrupt WebP: bad VP8 start code")
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":  # lossless: signature 0x2f then (width-1, height-1) in 14 bits each
        if data[20] != 0x2F:
            raise HeaderError("corrupt WebP: bad VP8L signature")
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: canvas (width-1, height-1) in 24 bits each
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    raise HeaderError(f"corrupt WebP: unknown first chunk {chunk!r}, expected VP8, VP8L or VP8X")


_TIFF_TYPE_FORMAT = {3: "H", 4: "I"}  # SHORT, LONG


def _tiff(data: bytes) -> tuple[int, int]:
    if data[2:4] in (b"+\x00", b"\x00+"):
        raise HeaderError(
            "unsupported TIFF: BigTIFF files are not read; save the image as PNG or classic TIFF"
        )
    _need(data, 8, "TIFF")
    endian = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack(endian + "I", data[4:8])
    if ifd + 2 > len(data):
        raise HeaderError(
            f"truncated TIFF: first directory at byte {ifd} is past the end ({len(data)} bytes)"
        )
    (count,) = struct.unpack(endian + "H", data[ifd : ifd + 2])
    if ifd + 2 + 12 * count > len(data):
        raise HeaderError("truncated TIFF: first directory is cut short")
    found = {}
    for i in range(count):
        entry = ifd + 2 + 12 * i
        tag, kind, n = struct.unpack(endian + "HHI", data[entry : entry + 8])
        if tag in (256, 257) and kind in _TIFF_TYPE_FORMAT and n == 1:
            fmt = _TIFF_TYPE_FORMAT[kind]
            size = struct.calcsize(fmt)
            (found[tag],) = struct.unpack(endian + fmt, data[entry + 8 : entry + 8 + size])
    if 256 not in found or 257 not in found:
        raise HeaderError("corrupt TIFF: no ImageWidth/ImageLength tags in the first directory")
    return found[256], found[257]


_PARSERS = {"PNG": _png, "JPEG": _jpeg, "BMP": _bmp, "GIF": _gif, "WebP": _webp, "TIFF": _tiff}


def read_header(data: bytes, image_format: str) -> ImageHeader:
    """Read the pixel dimensions of ``data`` (of a format from :func:`sniff_format`).

    Raises
    ------
    HeaderError
        If the header is truncated, corrupt or of an unsupported variant.
    """
    width, height = _PARSERS[image_format](data)
    return ImageHeader(image_format, int(width), int(height))


def _check_png(data: bytes) -> None:
    # Walk the chunk list to IEND: a cut file (or a cut IDAT) is caught here,
    # where libpng would return the rows it got and pad the rest.
    pos, n, seen_idat = 8, len(data), False
    while True:
        if pos + 8 > n:
            raise HeaderError("truncated PNG: the file ends before the IEND chunk")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > n:
            raise HeaderError(f"truncated PNG: chunk {kind.decode('latin-1')!r} needs {end - n} more bytes")
        # Upper-case first letter = critical chunk: its CRC must match
        # (ancillary chunks with bad CRCs are tolerated, as libpng does).
        if kind[:1].isupper():
            (crc,) = struct.unpack(">I", data[end - 4 : end])
            if zlib.crc32(data[pos + 4 : end - 4]) != crc:
                raise HeaderError(
                    f"corrupt PNG: CRC mismatch in chunk {kind.decode('latin-1')!r} at byte {pos}"
                )
        seen_idat = seen_idat or kind == b"IDAT"
        if kind == b"IEND":
            break
        pos = end
    if not seen_idat:
        raise HeaderError("corrupt PNG: no image data (IDAT chunk)")


def _check_jpeg(data: bytes) -> None:
    # Entropy-coded data cannot contain FF D9 (FF is stuffed with 00), so an
    # EOI after the first SOS marks the real end; trailing bytes are tolerated.
    sos = None
    for marker, start, _length in _jpeg_segments(data):
        if marker == 0xDA:
            sos = start
    if sos is None or data.find(b"\xff\xd9", sos) < 0:
        raise HeaderError("truncated JPEG: no end-of-image (EOI) marker after the image data")


def _check_bmp(data: bytes, header: ImageHeader) -> None:
    _need(data, 30, "BMP")
    (offset,) = struct.unpack("<I", data[10:14])
    (dib_size,) = struct.unpack("<I", data[14:18])
    if dib_size == 12:
        (bpp,) = struct.unpack("<H", data[24:26])
        compression = 0
    else:
        _need(data, 34, "BMP")
        bpp, compression = struct.unpack("<HI", data[28:34])
    if compression in (0, 3, 6):  # BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS: fixed row size
        stride = (header.width * bpp + 31) // 32 * 4
        needed = offset + stride * header.height
        if len(data) < needed:
            raise HeaderError(f"truncated BMP: {len(data)} bytes, the pixel rows need {needed}")


def _check_webp(data: bytes) -> None:
    (riff_size,) = struct.unpack("<I", data[4:8])
    if 8 + riff_size > len(data):
        raise HeaderError(f"truncated WebP: {len(data)} bytes, the RIFF header announces {8 + riff_size}")


def check_integrity(data: bytes, header: ImageHeader) -> None:
    """Refuse data that is visibly truncated or corrupt before it reaches the decoder.

    Raises
    ------
    HeaderError
    """
    if header.format == "PNG":
        _check_png(data)
    elif header.format == "JPEG":
        _check_jpeg(data)
    elif header.format == "BMP":
        _check_bmp(data, header)
    elif header.format == "WebP":
        _check_webp(data)
