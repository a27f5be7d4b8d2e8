"""Image reading: the only place where image files are decoded (numpy + OpenCV, no Pillow); labelled folders
and the one rule naming a labelled captcha's copy (:class:`LabelShelves`)."""

from captcha_solver.image_io._dataset import (
    IMAGE_EXTENSIONS,
    charset_of,
    label_from_path,
    label_problem,
    list_dataset,
    list_images,
    read_labelled,
    split_dataset,
)
from captcha_solver.image_io._decode import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    MIN_SIDE,
    decode_image,
    probe_image,
)
from captcha_solver.image_io._errors import EmptyDatasetError, ImageDecodeError
from captcha_solver.image_io._header import FORMATS, ImageHeader, sniff_format
from captcha_solver.image_io._shelves import PNG_MAGIC, LabelShelves, png_bytes, shelf_name, write_new_file

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "FORMATS",
    "IMAGE_EXTENSIONS",
    "MIN_SIDE",
    "PNG_MAGIC",
    "EmptyDatasetError",
    "ImageDecodeError",
    "ImageHeader",
    "LabelShelves",
    "charset_of",
    "decode_image",
    "label_from_path",
    "label_problem",
    "list_dataset",
    "list_images",
    "png_bytes",
    "probe_image",
    "read_labelled",
    "shelf_name",
    "sniff_format",
    "split_dataset",
    "write_new_file",
]
