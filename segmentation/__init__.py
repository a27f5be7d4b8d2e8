"""Classical segmentation: text map, thresholding, components, splits and merges.

Pure functions over numpy arrays; the image is decoded elsewhere
(``image_io``) and nothing here reads or writes files.
"""

from segmentation._components import Blob, find_blobs, merge_marks, union
from segmentation._segment import Segmentation, SegmentationParams, TextLine, segment
from segmentation._split import cut_columns, split_blob
from segmentation._text_map import TextMap, binarize, text_map

__all__ = [
    "Blob",
    "Segmentation",
    "SegmentationParams",
    "TextLine",
    "TextMap",
    "binarize",
    "cut_columns",
    "find_blobs",
    "merge_marks",
    "segment",
    "split_blob",
    "text_map",
    "union",
]
