"""Side bearings: how far each character stands from its neighbours, as evidence for a reading (numpy only).

In a fixed font the gap between two glyphs is about the right bearing of
the first plus the left bearing of the second. Some characters of the same
shape differ mostly there: in the seed font l and I differ by one pixel of
stroke but by about 3 px of left and 2 px of right bearing. A glyph's raw
gaps mislead on their own (after a ``1`` every gap is wide); given the
neighbours' classes they do not. :class:`Bearings` is the fitted table
(fitted by :func:`captcha_solver.training.fit_bearings`); its
:meth:`~Bearings.log_likelihood` scores a candidate text along the glyph
boxes the classical lattice aligned it to, and :func:`relative_spacing`
makes those scores comparable between candidates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["Bearings", "relative_spacing"]

#: A squared z-score counts at most this much: a gap that a segmentation quirk
#: made absurd is one bad gap, not a veto.
Z2_CLAMP = 9.0
#: What a candidate gets when no segmentation path reads it (as the fusion's floor).
NO_PATH = -60.0


@dataclass(frozen=True)
class Bearings:
    """Per-character left and right bearings and their variances, in line heights.

    Attributes
    ----------
    charset : str
    left, right, var_left, var_right : tuple of float
        One value per character of ``charset``.
    n_gaps : int
        Gaps between true neighbours the table was fitted on.
    """

    charset: str
    left: tuple[float, ...]
    right: tuple[float, ...]
    var_left: tuple[float, ...]
    var_right: tuple[float, ...]
    n_gaps: int = 0

    def __post_init__(self):
        n = len(self.charset)
        for name in ("left", "right", "var_left", "var_right"):
            values = getattr(self, name)
            if len(values) != n:
                raise ValueError(f"spacing.{name}: {len(values)} values for a charset of {n} characters")
            if not all(math.isfinite(v) for v in values):
                raise ValueError(f"spacing.{name}: not every value is a finite number")
        if min(self.var_left + self.var_right, default=1.0) <= 0:
            raise ValueError("spacing: every variance must be positive")

    @classmethod
    def from_dict(cls, data: Mapping) -> Bearings:
        """The table as the manifest stores it (``fusion.spacing``).

        Raises
        ------
        ValueError
            If an entry is missing or the lists do not match the charset.
        """
        try:
            return cls(
                str(data["charset"]),
                *(tuple(float(v) for v in data[k]) for k in ("left", "right", "var_left", "var_right")),
                n_gaps=int(data.get("n_gaps", 0)),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"spacing: malformed table ({exc!r})") from None

    @cached_property
    def _index(self) -> dict[str, int]:
        # Built once per table: reading scores several candidates of every fused captcha.
        return {c: i for i, c in enumerate(self.charset)}

    def to_dict(self) -> dict:
        """JSON object of the table (rounded: six digits are far below the gaps' noise)."""
        doc = {k: [round(v, 6) for v in getattr(self, k)] for k in ("left", "right", "var_left", "var_right")}
        return {"charset": self.charset, **doc, "n_gaps": self.n_gaps}

    def log_likelihood(self, text: str, boxes: Sequence[tuple[float, float]], height: float) -> float:
        """Gaussian log-likelihood of the gaps between ``text``'s glyphs (constants dropped).

        Parameters
        ----------
        text : str
            Characters outside the charset make it ``-inf``.
        boxes : sequence of (left, right)
            Each character's horizontal extent, in pixels, in reading order.
        height : float
            The text line's height in pixels (gaps are measured in it).
        """
        if len(boxes) != len(text):
            raise ValueError(f"{len(boxes)} glyph boxes for a text of {len(text)} characters")
        index = self._index
        if any(c not in index for c in text):
            return -math.inf
        total = 0.0
        for i in range(len(text) - 1):
            a, b = index[text[i]], index[text[i + 1]]
            var = self.var_right[a] + self.var_left[b]
            gap = (boxes[i + 1][0] - boxes[i][1]) / max(height, 1.0)
            z2 = (gap - self.right[a] - self.left[b]) ** 2 / var
            total -= 0.5 * min(z2, Z2_CLAMP) + 0.5 * math.log(var)
        return total


def relative_spacing(candidates: Sequence[str], spacing) -> np.ndarray:
    """Each candidate's spacing log-likelihood minus the best of the candidates of its length.

    Texts of different lengths have different numbers of gaps, and their
    likelihoods are not comparable: spacing only decides between readings
    of the same number of glyphs (the best of each length gets 0). A text
    no path reads gets :data:`NO_PATH`.
    """
    spacing = np.asarray(spacing, dtype=np.float64)
    out = np.full(len(candidates), NO_PATH)
    for n in {len(c) for c in candidates}:
        idx = np.array([i for i, c in enumerate(candidates) if len(c) == n])
        finite = idx[np.isfinite(spacing[idx])]
        if len(finite):
            out[finite] = spacing[finite] - spacing[finite].max()
    return np.maximum(out, NO_PATH)
