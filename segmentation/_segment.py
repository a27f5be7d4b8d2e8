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

    Callers pass the values of the settings schema (training builds this from
    the ``segmentation`` section, a model from its manifest); the defaults
    here are the schema's, kept equal by a test, for direct use of the stage.

    Ratios are relative to the text line's height, so they hold for any
    font size.
    """

    threshold_ratio: float = 0.6
    min_component_area: int = 30
    min_area_ratio: float = 0.03
    dot_max_area_ratio: float = 0.25
    cut_min_width_ratio: float = 0.45
    min_piece_ratio: float = 0.12
    max_cuts: int = 2
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
    marks : list of Blob
        Small components that belong to no glyph (background specks, or
        pieces of a glyph cut by the image edge); the decoder may join
        them to a neighbour or drop them.
    atoms : list of Blob
        Blobs (wide ones cut at profile valleys) and marks, in reading
        order; a glyph is a run of 1..max_span consecutive atoms.
    atom_owner : list of int
        For each atom, the index of its blob, or ``len(blobs) + k`` for mark k.
    line : TextLine
    image_shape : (int, int)
    """

    text: TextMap
    blobs: list[Blob]
    marks: list[Blob]
    atoms: list[Blob]
    atom_owner: list[int]
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
        spans = self.owner_spans()
        seen = set(spans)
        for start in range(len(self.atoms)):
            for stop in range(start + 1, min(start + max_span, len(self.atoms)) + 1):
                if stop - start > 1 and self.span(start, stop).width > max_width:
                    break
                if (start, stop) not in seen:
                    seen.add((start, stop))
                    spans.append((start, stop))
        return spans

    def owner_spans(self) -> list[tuple[int, int]]:
        """Atom runs of every blob and every mark, in reading order (the skippable units)."""
        spans, start = [], 0
        owner = self.atom_owner
        for i in range(1, len(self.atoms) + 1):
            if i == len(self.atoms) or owner[i] != owner[start]:
                spans.append((start, i))
                start = i
        return spans

    def blob_spans(self) -> list[tuple[int, int]]:
        """The plain segmentation as atom runs: one run per blob, marks left out."""
        return [(a, b) for a, b in self.owner_spans() if self.atom_owner[a] < len(self.blobs)]


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
    blobs = merge_marks(blobs, dot_max_area_ratio=params.dot_max_area_ratio)
    blobs, marks = _separate_marks(blobs, params.dot_max_area_ratio)
    line = _text_line(blobs)
    pieces: list[tuple[float, int, list[Blob]]] = []
    min_piece = max(2, int(round(params.min_piece_ratio * line.height)))
    for k, blob in enumerate(blobs):
        cuts: list[int] = []
        if blob.width > params.cut_min_width_ratio * line.height:
            profile = (text.ink[blob.y0 : blob.y1, blob.x0 : blob.x1] * blob.mask).sum(axis=0)
            cuts = cut_columns(
                profile,
                min_piece=min_piece,
                max_cuts=params.max_cuts,
                max_depth_ratio=params.cut_max_depth_ratio,
            )
        pieces.append((blob.center_x, k, split_blob(blob, cuts) if cuts else [blob]))
    for k, mark in enumerate(marks):
        pieces.append((mark.center_x, len(blobs) + k, [mark]))
    # Reading order by centre; the pieces of one blob stay together, left to right.
    atoms: list[Blob] = []
    owner: list[int] = []
    for _, k, group in sorted(pieces, key=lambda p: (p[0], p[1])):
        atoms.extend(group)
        owner.extend([k] * len(group))
    return Segmentation(text, blobs, marks, atoms, owner, line, image.shape[:2])


def _separate_marks(blobs: list[Blob], ratio: float) -> tuple[list[Blob], list[Blob]]:
    """Split off the small blobs that no glyph took (see ``merge_marks``)."""
    if len(blobs) < 2:
        return _order(blobs), []
    reference = float(np.percentile([b.area for b in blobs], 75))
    glyphs = [b for b in blobs if b.area >= ratio * reference]
    marks = [b for b in blobs if b.area < ratio * reference]
    return _order(glyphs), _order(marks)
