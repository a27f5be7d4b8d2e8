"""The validation baseline of a model: fixed confidence and reading-length bins with their histograms.

Training reads its validation captchas back with the final model (the
read-back check); the confidences and the lengths of those readings are what
"normal" traffic looks like for that model. They are stored with the model as
a :class:`Baseline`, which the live traffic is later compared with
(:func:`captcha_solver.monitoring.drift_score`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["CONFIDENCE_EDGES", "LENGTH_EDGES", "Baseline", "baseline_from", "histograms"]

#: Confidence bin edges. Readings of a model's own captcha style crowd near 1, so the bins are
#: finest there; a changed style moves mass to the lower bins. The last bin holds 1.0 itself.
CONFIDENCE_EDGES = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 1.0)
#: Reading-length bin edges: one bin per length 0..11, the last bin holds every length >= 12.
LENGTH_EDGES = tuple(range(13))


def _counts(values, edges: tuple) -> np.ndarray:
    """How many ``values`` fall in each bin ``[edges[i], edges[i+1])``; the last bin is closed above and open."""
    values = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    if values.size and not np.isfinite(values).all():
        raise ValueError("confidences and lengths must be finite numbers")
    inner = np.asarray(edges[1:-1], dtype=float)
    # searchsorted(side="right") puts a value equal to an edge in the bin that starts there.
    index = np.searchsorted(inner, values, side="right")
    return np.bincount(index, minlength=len(edges) - 1).astype(np.int64)


def histograms(confidences: Iterable[float], lengths: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """The confidence and length histograms over the fixed bins (:data:`CONFIDENCE_EDGES`, :data:`LENGTH_EDGES`)."""
    return _counts(confidences, CONFIDENCE_EDGES), _counts(lengths, LENGTH_EDGES)


@dataclass(frozen=True)
class Baseline:
    """Histograms of a model's validation readings over fixed bins.

    Attributes
    ----------
    confidence_edges, length_edges : tuple
        Bin edges; bin ``i`` is ``[edges[i], edges[i+1])`` and the last bin also holds what lies above.
    confidence_counts, length_counts : tuple of int
        Readings per bin (one fewer than the edges).
    """

    confidence_edges: tuple[float, ...]
    length_edges: tuple[int, ...]
    confidence_counts: tuple[int, ...]
    length_counts: tuple[int, ...]

    def __post_init__(self):
        for kind in ("confidence", "length"):
            edges, counts = getattr(self, f"{kind}_edges"), getattr(self, f"{kind}_counts")
            if len(edges) < 2 or list(edges) != sorted(set(edges)):
                raise ValueError(f"baseline {kind}_edges must be at least 2 increasing numbers, got {edges}")
            if len(counts) != len(edges) - 1 or any(c < 0 for c in counts):
                raise ValueError(
                    f"baseline {kind}_counts must be {len(edges) - 1} counts >= 0 (one per bin), got {counts}"
                )
        if sum(self.confidence_counts) != sum(self.length_counts):
            raise ValueError("baseline confidence and length histograms count different numbers of readings")

    @property
    def n(self) -> int:
        """Readings the baseline was made from."""
        return int(sum(self.confidence_counts))

    def histograms(self, confidences, lengths) -> tuple[np.ndarray, np.ndarray]:
        """Counts of other readings over this baseline's bins."""
        return _counts(confidences, self.confidence_edges), _counts(lengths, self.length_edges)

    def to_dict(self) -> dict:
        """A JSON-able dict (the manifest's ``monitoring.baseline``)."""
        return {
            "n": self.n,
            "confidence_edges": list(self.confidence_edges),
            "confidence_counts": list(self.confidence_counts),
            "length_edges": list(self.length_edges),
            "length_counts": list(self.length_counts),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> Baseline:
        """Read :meth:`to_dict`'s output back.

        Raises
        ------
        ValueError
            If an entry is missing or not a list of numbers, or the histograms do not fit their bins
            (the message names the entry).
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a baseline must be an object, got {type(data).__name__}")
        values = {}
        for key, kind in (
            ("confidence_edges", float),
            ("length_edges", int),
            ("confidence_counts", int),
            ("length_counts", int),
        ):
            items = data.get(key)
            ok = isinstance(items, list) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v == v for v in items
            )
            if not ok or (kind is int and any(int(v) != v for v in items)):
                raise ValueError(
                    f"baseline '{key}' must be a list of {kind.__name__} numbers, got {items!r:.80}"
                )
            values[key] = tuple(kind(v) for v in items)
        return cls(**values)


def baseline_from(confidences: Iterable[float], lengths: Iterable[int]) -> Baseline:
    """The baseline of a set of readings: their confidences and text lengths, over the fixed bins.

    Raises
    ------
    ValueError
        If there are no readings, the two lists differ in length or a value is not finite.
    """
    confidences, lengths = list(confidences), list(lengths)
    if not confidences or len(confidences) != len(lengths):
        raise ValueError(
            f"a baseline needs one confidence and one length per reading, got {len(confidences)} and {len(lengths)}"
        )
    conf, length = histograms(confidences, lengths)
    return Baseline(CONFIDENCE_EDGES, LENGTH_EDGES, tuple(map(int, conf)), tuple(map(int, length)))
