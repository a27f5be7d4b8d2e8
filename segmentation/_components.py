"""Connected components of the text mask, with the dots of i/j merged back."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Blob", "find_blobs", "merge_marks"]


@dataclass(frozen=True)
class Blob:
    """Pixels of one piece of text.

    Attributes
    ----------
    x0, y0, x1, y1 : int
        Bounding box, end-exclusive, in image coordinates.
    mask : (y1 - y0, x1 - x0) ndarray of bool
        The blob's pixels inside its box.
    """

    x0: int
    y0: int
    x1: int
    y1: int
    mask: np.ndarray

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return int(self.mask.sum())

    @property
    def center_x(self) -> float:
        return (self.x0 + self.x1) / 2.0


def union(blobs: list[Blob]) -> Blob:
    """One blob holding the pixels of all ``blobs``."""
    if len(blobs) == 1:
        return blobs[0]
    x0 = min(b.x0 for b in blobs)
    y0 = min(b.y0 for b in blobs)
    x1 = max(b.x1 for b in blobs)
    y1 = max(b.y1 for b in blobs)
    mask = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    for b in blobs:
        mask[b.y0 - y0 : b.y1 - y0, b.x0 - x0 : b.x1 - x0] |= b.mask
    return Blob(x0, y0, x1, y1, mask)


def find_blobs(binary: np.ndarray, *, min_area: int, min_area_ratio: float) -> list[Blob]:
    """8-connected components of a binary mask, small specks dropped.

    Parameters
    ----------
    binary : (H, W) ndarray of uint8 or bool
        Text mask.
    min_area : int
        Components with fewer pixels are noise.
    min_area_ratio : float
        Components smaller than this share of the largest one are noise too
        (background nodes that cross the threshold are far smaller than glyphs).

    Returns
    -------
    blobs : list of Blob, ordered by left edge
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary.astype(np.uint8), connectivity=8)
    if n <= 1:
        return []
    areas = stats[1:, cv2.CC_STAT_AREA]
    floor = max(min_area, min_area_ratio * areas.max())
    blobs = []
    for index in np.flatnonzero(areas >= floor) + 1:
        x, y, w, h = stats[index, :4]
        mask = labels[y : y + h, x : x + w] == index
        blobs.append(Blob(int(x), int(y), int(x + w), int(y + h), mask))
    blobs.sort(key=lambda b: (b.x0, b.y0))
    return blobs


def merge_marks(blobs: list[Blob], *, dot_max_area_ratio: float) -> list[Blob]:
    """Merge small marks (the dots of i and j) into the glyph below them.

    A blob is a mark when its area is under ``dot_max_area_ratio`` times the
    75th-percentile blob area, and its centre column lies over another, larger blob
    that starts below it. Marks with no such blob are kept as they are (the
    recogniser may still call them noise).
    """
    if len(blobs) < 2:
        return list(blobs)
    # The 75th percentile, not the median: in "ijij" half the blobs are dots.
    reference = float(np.percentile([b.area for b in blobs], 75))
    small = [b.area < dot_max_area_ratio * reference for b in blobs]
    owner: dict[int, int] = {}
    for i, mark in enumerate(blobs):
        if not small[i]:
            continue
        best, best_gap = None, None
        for j, base in enumerate(blobs):
            if j == i or small[j] or base.area <= mark.area:
                continue
            if not base.x0 - 2 <= mark.center_x <= base.x1 + 2:
                continue
            gap = base.y0 - mark.y1  # the dot sits above the stem
            if gap < -2 or gap > max(base.height, mark.height):
                continue
            if best_gap is None or gap < best_gap:
                best, best_gap = j, gap
        if best is not None:
            owner[i] = best
    groups: dict[int, list[Blob]] = {}
    for i, b in enumerate(blobs):
        if i in owner:
            continue
        groups[i] = [b]
    for i, j in owner.items():
        groups[j].append(blobs[i])
    merged = [union(group) for group in groups.values()]
    merged.sort(key=lambda b: (b.x0, b.y0))
    return merged
