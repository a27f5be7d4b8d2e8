"""The typed sections of a model manifest: each a frozen dataclass of its known entries, the rest kept in ``extra``."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Self

__all__ = ["Classifier", "Fusion", "GlyphSection", "Labels", "Monitoring", "NeuralRecord", "SelfTraining"]


class _Section:
    """A manifest object: its known entries as fields (None: absent), any other entry kept in ``extra``."""

    extra: dict

    @classmethod
    def from_dict(cls, data: Mapping) -> Self:
        known = {f.name for f in fields(cls)} - {"extra"}
        return cls(
            **{k: v for k, v in data.items() if k in known},
            extra={k: v for k, v in data.items() if k not in known},
        )

    def to_dict(self) -> dict:
        """The JSON object (a deep copy): the entries that are not None, then ``extra``."""
        doc = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return copy.deepcopy({**{k: v for k, v in doc.items() if v is not None}, **self.extra})


@dataclass(frozen=True)
class GlyphSection:
    """What the classical reader is built from; stored flat at the manifest's top level.

    ``class_columns[c]`` is the class of the classifier's output column ``c``:
    a character of ``charset`` by its index, or ``len(charset)`` for garbage.
    """

    charset: str
    class_columns: tuple[int, ...]
    segmentation: dict
    features: dict
    decoding: dict

    def to_dict(self) -> dict:
        return copy.deepcopy({**self.__dict__, "class_columns": list(self.class_columns)})


@dataclass(frozen=True)
class Labels(_Section):
    """What the training labels were: their characters and ``lengths`` (text length -> count)."""

    charset: str | None = None
    lengths: dict[int, int] | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping) -> Self:
        labels = super().from_dict(data)
        if labels.lengths is None:
            return labels
        return cls(labels.charset, {int(n): count for n, count in labels.lengths.items()}, labels.extra)

    def to_dict(self) -> dict:
        doc = super().to_dict()
        if self.lengths is not None:
            doc["lengths"] = {str(n): count for n, count in self.lengths.items()}
        return doc


@dataclass(frozen=True)
class Fusion(_Section):
    """How the two readers combine (None: not fitted, the reading defaults apply).

    ``extra`` keeps the figures of the fit (``n``, ``ece``, ``val_exact``...,
    ``weight_range``, ``best_range``, ``dataset``); ``spacing`` is the
    side-bearing table (:class:`captcha_solver.fusion.Bearings` as a dict).
    """

    weight_classical: float | None = None
    temperature: float | None = None
    min_confidence: float | None = None
    spacing: dict | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Classifier(_Section):
    """The glyph classifier training chose and the scores of every candidate."""

    chosen: str | None = None
    comparison: dict | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class NeuralRecord(_Section):
    """How the neural reader trained: its final ``metrics`` and the per-epoch ``history``."""

    metrics: dict | None = None
    history: list | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Monitoring(_Section):
    """What live readings are compared with: ``baseline``, a :class:`captcha_solver.monitoring.Baseline` as a dict."""

    baseline: dict | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SelfTraining(_Section):
    """What self-training on unlabelled captchas did (``train --unlabelled``).

    ``rounds`` lists one object per round: the pseudo-labels kept, the
    confidence threshold (the higher of the one chosen on validation,
    ``val_threshold``, and the one at which the kept readings' mean
    calibrated confidence still reaches the target, ``expected_threshold``),
    the precision of the validation readings above the former
    (``val_precision``, over ``val_above`` readings), the kept readings'
    ``expected_precision``, and the round's validation exact accuracy.
    """

    folder: str | None = None
    target_precision: float | None = None
    rounds: list | None = None
    extra: dict = field(default_factory=dict)
