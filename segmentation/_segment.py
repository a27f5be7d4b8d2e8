"""From a captcha to glyph candidates in reading order."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from segmentation._components import Blob, find_blobs, merge_marks, union
from segmentation._split import cut_columns, split_blob
from segmentation._text_map import TextMap, binarize, text_map

__all__ = ["SegmentationParams", "Segmentation", "TextLine", "segment"]


@dataclass(frozen=True)
class SegmentationParams:
    """Settings of the segmentation (config.yaml, section ``segmentation``).

    Ratios are relative to the text line's height, so they hold for any
    font size.
    """

    threshold_ratio: float = 0.6
    min_component_area: int = 30
    min_area_ratio: float = 0.03
    dot_max_area_ratio: float = 0.25
    cut_min_width_ratio: float = 0.45
    min_piece_ratio: float = 0.12
    max_cuts: int = 3
    cut_max_depth_ratio: float = 0.6
    max_span: int = 3
    max_glyph_width_ratio: float = 1.4
    max_glyphs: int = 12


@dataclass(frozen=True)
class TextLine:
    """Where the text sits: cap line, baseline and height, in pixels."""

    top: float
    baseline: float
    height: float


@dataclass
class Segmentation:
    """Glyph candidates of one captcha.

    Attributes
    ----------
    text : TextMap
        The ink map the blobs were cut from.
    blobs : list of Blob
        Connected components with i/j dots merged, in reading order: the
        plain segmentation, one glyph per blob.
    atoms : list of Blob
        The blobs with wide ones cut at profile valleys, in reading order;
        a glyph is a run of 1..max_span consecutive atoms.
    line : TextLine
    image_shape : (int, int)
    """

    text: TextMap
    blobs: list[Blob]
    atoms: list[Blob]
    line: TextLine
    image_shape: tuple[int, int]
    _spans: dict = field(default_factory=dict, repr=False)

    def span(self, start: int, stop: int) -> Blob:
        """The glyph candidate made of atoms ``start:stop`` (cached)."""
        key = (start, stop)
        if key not in self._spans:
            self._spans[key] = union(self.atoms[start:stop])
        return self._spans[key]

    def candidate_spans(self, max_span: int, max_width_ratio: float) -> list[tuple[int, int]]:
        """All runs of atoms that could be one glyph: short and not too wide.

        Every blob is a candidate whatever its size, so that the plain
        segmentation is always among the readings.
        """
        max_width = max_width_ratio * self.line.height
        spans = list(self.blob_spans())
        seen = set(spans)
        for start in range(len(self.atoms)):
            for stop in range(start + 1, min(start + max_span, len(self.atoms)) + 1):
                if stop - start > 1 and self.span(start, stop).width > max_width:
                    break
                if (start, stop) not in seen:
                    seen.add((start, stop))
                    spans.append((start, stop))
        return spans

    def blob_spans(self) -> list[tuple[int, int]]:
        """The plain segmentation as atom runs: the atoms of each blob."""
        spans, start = [], 0
        owner = [self._owner(a) for a in self.atoms]
        for i in range(1, len(self.atoms) + 1):
            if i == len(self.atoms) or owner[i] != owner[start]:
                spans.append((start, i))
                start = i
        return spans

    def _owner(self, atom: Blob) -> int:
        for k, b in enumerate(self.blobs):
            if b.x0 <= atom.x0 and atom.x1 <= b.x1 and b.y0 <= atom.y0 and atom.y1 <= b.y1:
                return k
        return -1


def _text_line(blobs: list[Blob]) -> TextLine:
    """Estimate the cap line and baseline from the blobs.

    Most glyphs sit on the baseline, so the median bottom of the tall blobs
    is the baseline; the cap line is the highest top among them.
    """
    if not blobs:
        return TextLine(0.0, 1.0, 1.0)
    tallest = max(b.height for b in blobs)
    tall = [b for b in blobs if b.height >= 0.5 * tallest]
    top = float(min(b.y0 for b in tall))
    baseline = float(np.median([b.y1 for b in tall]))
    return TextLine(top, baseline, max(baseline - top, 1.0))


def _order(blobs: list[Blob]) -> list[Blob]:
    # Reading order by centre: a j whose hook reaches under its left
    # neighbour still comes after it.
    return sorted(blobs, key=lambda b: (b.center_x, b.y0))


def segment(image: np.ndarray, params: SegmentationParams = SegmentationParams()) -> Segmentation:
    """Segment a captcha into glyph candidates.

    Parameters
    ----------
    image : (H, W, 3) ndarray of uint8
        RGB captcha.
    params : SegmentationParams

    Returns
    -------
    Segmentation
        ``blobs`` is the plain segmentation (no knowledge of the text's
        length is used); ``atoms`` and ``candidate_spans`` feed the
        recogniser, which picks the reading that its classifier finds most
        likely.
    """
    text = text_map(image)
    binary = binarize(text.ink, params.threshold_ratio)
    blobs = find_blobs(binary, min_area=params.min_component_area, min_area_ratio=params.min_area_ratio)
    blobs = _order(merge_marks(blobs, dot_max_area_ratio=params.dot_max_area_ratio))
    line = _text_line(blobs)
    atoms: list[Blob] = []
    min_piece = max(2, int(round(params.min_piece_ratio * line.height)))
    for blob in blobs:
        if blob.width > params.cut_min_width_ratio * line.height:
            profile = (text.ink[blob.y0 : blob.y1, blob.x0 : blob.x1] * blob.mask).sum(axis=0)
            cuts = cut_columns(
                profile, min_piece=min_piece, max_cuts=params.max_cuts, max_depth_ratio=params.cut_max_depth_ratio
            )
            atoms.extend(split_blob(blob, cuts) if cuts else [blob])
        else:
            atoms.append(blob)
    # Atoms of one blob stay together in reading order (pieces of a blob are
    # already left to right).
    return Segmentation(text, blobs, atoms, line, image.shape[:2])
