"""Cut wide blobs into candidate pieces at the valleys of their column profile."""

from __future__ import annotations

import numpy as np

from segmentation._components import Blob

__all__ = ["cut_columns", "split_blob"]


def cut_columns(profile: np.ndarray, *, min_piece: int, max_cuts: int, max_depth_ratio: float) -> list[int]:
    """Columns where a blob may be cut: the deepest valleys of its ink profile.

    Parameters
    ----------
    profile : (W,) ndarray of float
        Ink per column of the blob.
    min_piece : int
        Minimal width of a piece on either side of a cut, and between cuts.
    max_cuts : int
        At most this many cuts.
    max_depth_ratio : float
        A valley qualifies only below this share of the profile's maximum
        (touching glyphs meet in a thin bridge; a glyph's own bowl does not).

    Returns
    -------
    cuts : sorted list of int, column offsets inside the blob
    """
    width = profile.shape[0]
    if width < 2 * min_piece or max_cuts < 1:
        return []
    limit = max_depth_ratio * float(profile.max())
    inner = np.arange(min_piece, width - min_piece + 1)
    inner = inner[inner < width]
    # Valley floors: not above either neighbour (plateaus count once, at their left end).
    left = np.r_[np.inf, profile[:-1]]
    right = np.r_[profile[1:], np.inf]
    floor = (profile <= left) & (profile <= right) & (profile <= limit)
    candidates = sorted(inner[floor[inner]], key=lambda c: profile[c])
    cuts: list[int] = []
    for c in candidates:
        if all(abs(c - k) >= min_piece for k in cuts):
            cuts.append(int(c))
            if len(cuts) == max_cuts:
                break
    return sorted(cuts)


def split_blob(blob: Blob, cuts: list[int]) -> list[Blob]:
    """Cut ``blob`` at the given columns (offsets inside the blob).

    Each piece keeps the blob's pixels in its column range, re-boxed tightly.
    """
    pieces = []
    edges = [0, *cuts, blob.width]
    for lo, hi in zip(edges[:-1], edges[1:]):
        part = blob.mask[:, lo:hi]
        rows = np.flatnonzero(part.any(axis=1))
        cols = np.flatnonzero(part.any(axis=0))
        if rows.size == 0:
            continue
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        pieces.append(
            Blob(blob.x0 + lo + c0, blob.y0 + r0, blob.x0 + lo + c1, blob.y0 + r1, part[r0:r1, c0:c1].copy())
        )
    return pieces
