"""Which of a model's readers answers a captcha: one reader, or both fused under the model's policy.

:func:`read_routed` is the rule of ``routing.reader``: one reader, or both
fused (:mod:`captcha_solver.fusion`) under the model's :class:`ReadPolicy`;
:func:`fusion_sample` is the evidence it weighs, which the training wing
fits the fusion on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from captcha_solver.artifacts import Fusion, Manifest
from captcha_solver.fusion import (
    Bearings,
    candidate_probabilities,
    ctc_log_likelihood,
    fused_scores,
    keep_classical,
    relative_spacing,
)
from captcha_solver.read_result import ReadResult
from captcha_solver.settings import RoutingConfig

__all__ = ["DEFAULT_MIN_CONFIDENCE", "ReadPolicy", "fusion_sample", "read_routed"]


#: Fast-path threshold of a model whose manifest records none (trained before it was fitted).
DEFAULT_MIN_CONFIDENCE = 0.9


@dataclass(frozen=True)
class ReadPolicy:
    """How a model's readers combine: the fitted fusion and the constraints learned from the labels.

    Attributes
    ----------
    min_confidence : float
        A plausible classical reading at least this sure is the answer
        without the neural pass (the fast path).
    weight_classical : float
        Weight of the classical lattice's log-probability of a candidate
        (the neural CTC log-probability gets ``1 - weight_classical``).
    temperature : float
        Softmax temperature turning fused scores into a confidence.
    lengths : frozenset of int
        Text lengths of the training labels; empty: any length.
    candidates : int
        Neural beams scored besides the classical reading.
    bearings : Bearings or None
        The model's side-bearing table (``fusion.spacing``), if it has one.
    spacing_weight : float
        Weight of a candidate's spacing log-likelihood against the others of
        its length (``routing.spacing_weight``; 0 or no table: not used).
    """

    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    weight_classical: float = 0.5
    temperature: float = 1.0
    lengths: frozenset = frozenset()
    candidates: int = 5
    bearings: Bearings | None = None
    spacing_weight: float = 0.0

    @classmethod
    def from_manifest(
        cls, manifest: Manifest | None, min_confidence: float = -1.0, spacing_weight: float = 0.0
    ) -> ReadPolicy:
        """The policy a manifest records (``fusion``, ``labels``); what it does not record gets the defaults.

        ``min_confidence >= 0`` (``routing.min_confidence``) overrides the fitted threshold. (The
        top-level ``routing`` threshold of a version 1 manifest was moved into ``fusion`` when it was read.)
        ``spacing_weight`` (``routing.spacing_weight``) weighs the manifest's side bearings, if any.

        Raises
        ------
        ValueError
            If the manifest's ``fusion.spacing`` table is malformed.
        """
        fusion = (manifest.fusion if manifest is not None else None) or Fusion()
        labels = manifest.labels if manifest is not None else None
        threshold = _or(fusion.min_confidence, DEFAULT_MIN_CONFIDENCE)
        return cls(
            min_confidence=float(min_confidence if min_confidence >= 0 else threshold),
            weight_classical=float(_or(fusion.weight_classical, 0.5)),
            temperature=float(_or(fusion.temperature, 1.0)),
            lengths=frozenset((labels.lengths if labels is not None else None) or ()),
            bearings=Bearings.from_dict(fusion.spacing) if fusion.spacing else None,
            spacing_weight=float(spacing_weight),
        )

    def allows(self, text: str) -> bool:
        """Whether ``text`` has a length some training label had (any non-empty text when none are known)."""
        return bool(text) and (not self.lengths or len(text) in self.lengths)


def _or(value, default):
    return default if value is None else value


def _constrained(classical: ReadResult, policy: ReadPolicy) -> ReadResult:
    """A classical reading of a length no training label had is no answer: its confidence is 0."""
    return classical if policy.allows(classical.text) else replace(classical, confidence=0.0)


def _evidence(reader, neural, rgb, seg, classical: ReadResult, policy: ReadPolicy, *, allowed, case, topk=0):
    """The neural reading, the candidate texts, each one's log-probability under both readers, and its spacing.

    The spacing (:func:`captcha_solver.fusion.relative_spacing`) is None
    when the policy does not weigh it.
    """
    answer, lp = neural.analyse(
        rgb, topk=max(policy.candidates, topk), allowed=allowed, case=case, lengths=policy.lengths or None
    )
    candidates = [t for t, _ in answer.topk]
    for text in (answer.text, classical.text):
        if policy.allows(text) and text not in candidates:
            candidates.append(text)
    # A character the neural reader does not know gets a class it has not: -inf.
    index = {c: i + 1 for i, c in enumerate(neural.charset)}
    labels = [[index.get(c, len(index) + 1) for c in text] for text in candidates]
    f_neural = ctc_log_likelihood(lp, labels)
    bearings = policy.bearings if policy.spacing_weight > 0 else None
    f_classical, spacing = reader.text_evidence(
        seg, candidates, bearings=bearings, allowed=allowed, case=case
    )
    if spacing is not None:
        spacing = relative_spacing(candidates, spacing)
    return replace(answer, topk=()), candidates, f_neural, f_classical, spacing


def fusion_sample(reader, neural, rgb: np.ndarray, policy: ReadPolicy, *, allowed=None, case="sensitive"):
    """Both readers' evidence on one captcha, computed as :func:`read_routed` computes it.

    Returns
    -------
    classical : ReadResult
        With confidence 0 when its length is not allowed.
    neural_result : ReadResult
    candidates : list of str
    f_neural, f_classical : ndarray
        Each candidate's log-probability under each reader.
    spacing : ndarray or None
        Each candidate's spacing log-likelihood against the others of its
        length (:func:`captcha_solver.fusion.relative_spacing`); None when
        the policy does not weigh spacing.
    """
    classical, seg = reader.analyse(rgb, allowed=allowed, case=case)
    classical = _constrained(classical, policy)
    return (classical, *_evidence(reader, neural, rgb, seg, classical, policy, allowed=allowed, case=case))


def read_routed(reader, neural, rgb: np.ndarray, route: RoutingConfig, policy: ReadPolicy) -> ReadResult:
    """Read with the classical reader, the neural one, or both fused, as ``route.reader`` says.

    ``auto`` with both readers: a plausible classical reading at least
    ``policy.min_confidence`` sure is the answer (the fast path); otherwise
    every candidate (the classical reading, the neural reader's best texts)
    is scored by both readers (and, where the model has side bearings, by
    its glyphs' spacing against the other candidates of its length) and
    the best weighted sum wins, with its softmax share as the confidence. Every reader answers only with lengths
    the training labels had. ``classical`` and ``neural`` use that reader
    alone, or the other one when the model lacks it.
    """
    allowed = route.allowed_chars or None
    lengths = policy.lengths or None
    if reader is not None and (neural is None or route.reader == "classical"):
        return _constrained(reader.read(rgb, allowed=allowed, case=route.case), policy)
    if reader is None or route.reader == "neural":
        return neural.read(rgb, topk=route.topk, allowed=allowed, case=route.case, lengths=lengths)
    t0 = time.perf_counter()
    classical, seg = reader.analyse(rgb, allowed=allowed, case=route.case)
    classical = _constrained(classical, policy)
    fast = bool(keep_classical(classical.plausible, classical.confidence, policy.min_confidence))
    if fast and not route.topk:
        return classical
    answer, candidates, f_neural, f_classical, spacing = _evidence(
        reader, neural, rgb, seg, classical, policy, allowed=allowed, case=route.case, topk=route.topk
    )
    scores = fused_scores(f_neural, f_classical, policy.weight_classical)
    if spacing is not None:
        scores = scores + policy.spacing_weight * spacing
    probs = candidate_probabilities(scores, policy.temperature)
    if fast:
        chosen = classical  # the neural pass ran only for the alternatives
    elif not candidates:
        chosen = answer
    else:
        best = int(np.argmax(probs))
        text, confidence = candidates[best], float(probs[best])
        own = classical if text == classical.text else answer if text == answer.text else None
        # A text neither reader read on its own has no per-character figures: spread the confidence.
        chars = own.char_confidences if own is not None else (confidence ** (1 / len(text)),) * len(text)
        chosen = ReadResult(
            text,
            confidence,
            tuple(chars),
            "fused",
            boxes=classical.boxes if text == classical.text else (),
            n_blobs=classical.n_blobs,
            timings_ms=dict(classical.timings_ms),
        )
    order = np.argsort(-probs)[: route.topk]
    timings = dict(chosen.timings_ms, total=(time.perf_counter() - t0) * 1e3)
    return replace(chosen, topk=tuple((candidates[i], float(probs[i])) for i in order), timings_ms=timings)
