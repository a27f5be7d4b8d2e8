"""Image reading: the only place where image files are decoded (numpy + OpenCV, no Pillow)."""

from image_io._dataset import IMAGE_EXTENSIONS, label_from_path, list_images
from image_io._decode import MIN_SIDE, decode_image
from image_io._errors import EmptyDatasetError, ImageDecodeError
from image_io._header import FORMATS, sniff_format

__all__ = [
    "FORMATS",
    "IMAGE_EXTENSIONS",
    "MIN_SIDE",
    "EmptyDatasetError",
    "ImageDecodeError",
    "decode_image",
    "label_from_path",
    "list_images",
    "sniff_format",
]
