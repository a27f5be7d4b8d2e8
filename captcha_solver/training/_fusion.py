"""Fitting how the two readers' evidence is fused: weights, temperature and fast path, on validation captchas.

:mod:`captcha_solver.fusion` scores each candidate text with both readers
and applies the rule; this module chooses the rule's numbers on captchas
neither reader trained on (:func:`fit_fusion`), gathers the evidence for it
through the loaded model (:func:`fusion_samples`), and refits a published
model (:func:`tune_fusion`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from captcha_solver.artifacts import Fusion, Manifest, update_manifest
from captcha_solver.common import progress
from captcha_solver.fusion import candidate_probabilities, fused_scores, keep_classical
from captcha_solver.image_io import list_dataset, read_labelled
from captcha_solver.inference import Model
from captcha_solver.metrics import expected_calibration_error
from captcha_solver.training._spacing import bearing_samples, fit_bearings

__all__ = [
    "FusionSample",
    "fit_fusion",
    "fit_fusion_on",
    "fusion_samples",
    "middle_of_best",
    "record_bearings",
    "tune_fusion",
]

#: Weights of the classical evidence tried (the neural one gets ``1 - w``).
WEIGHTS = np.round(np.linspace(0.0, 1.0, 21), 3)
#: Fast-path thresholds tried: coarse where classical confidences are rare, fine near 1.
THRESHOLDS = np.unique(
    np.round(np.concatenate([np.arange(0.3, 0.9, 0.05), np.arange(0.9, 1.0, 0.01), [1.0, 1.01]]), 3)
)
#: Softmax temperatures tried for the confidence.
TEMPERATURES = np.exp(np.linspace(np.log(0.01), np.log(10.0), 61))


@dataclass(frozen=True)
class FusionSample:
    """One validation captcha, as the fused reader saw it.

    Attributes
    ----------
    label : str
    classical_text : str
    classical_confidence : float
    plausible : bool
        The classical reading has one component per character and an allowed length.
    neural_text : str
        The neural reader's own reading (greedy, allowed lengths).
    candidates : tuple of str
    f_neural, f_classical : tuple of float
        Each candidate's log-probability under each reader.
    spacing : tuple of float
        Each candidate's spacing log-likelihood against the others of its
        length; empty when the model weighs no spacing.
    """

    label: str
    classical_text: str
    classical_confidence: float
    plausible: bool
    neural_text: str
    candidates: tuple[str, ...]
    f_neural: tuple[float, ...]
    f_classical: tuple[float, ...]
    spacing: tuple[float, ...] = ()


def middle_of_best(values) -> tuple[int, int, int]:
    """The middle index of the widest run of consecutive maxima of ``values``, and the run's ends.

    A setting at the edge of the run would be one captcha away from a worse
    one; the middle is the choice least likely to be a fluke of the sample.
    """
    values = np.asarray(values, dtype=np.float64)
    best = values.max()
    runs, start = [], None
    for i, top in enumerate(np.isclose(values, best)):
        if top and start is None:
            start = i
        if start is not None and (not top or i == len(values) - 1):
            runs.append((start, i if top else i - 1))
            start = None
    lo, hi = max(runs, key=lambda r: (r[1] - r[0], -r[0]))
    return (lo + hi) // 2, lo, hi


def _choices(
    samples: Sequence[FusionSample], weight: float, spacing_weight: float = 0.0
) -> tuple[np.ndarray, list[np.ndarray]]:
    correct, scores = [], []
    for s in samples:
        sc = fused_scores(s.f_neural, s.f_classical, weight)
        if s.spacing:
            sc = sc + spacing_weight * np.asarray(s.spacing)
        scores.append(sc)
        correct.append(bool(len(sc)) and s.candidates[int(np.argmax(sc))] == s.label)
    return np.array(correct, dtype=bool), scores


def fit_fusion(samples: Sequence[FusionSample], spacing_weight: float = 0.0) -> dict:
    """Fit the classical weight, the temperature and the fast-path threshold on validation captchas.

    The weight maximises the exact accuracy of the fused answer, the
    temperature minimises the log loss of its confidence (against targets
    ``1 - 1/(n+2)`` and ``1/(n+2)``, so that an all-right validation set
    does not make it sure without limit), and the threshold
    maximises the accuracy of the whole rule (fast path, else fused); each
    is the middle of the widest run of best values. Samples with spacing
    evidence add ``spacing_weight`` times it to every fused score, as
    reading does (``routing.spacing_weight``).

    Returns
    -------
    dict
        ``weight_classical``, ``weight_range``, ``temperature``,
        ``min_confidence``, ``best_range``, ``val_exact`` (the whole rule),
        ``val_exact_fused`` (every captcha fused), ``val_exact_classical``,
        ``val_exact_neural``, ``neural_share`` (part of captchas the neural
        reader reads), ``ece`` (of the rule's confidences) and ``n``.

    Raises
    ------
    ValueError
        If there are no samples.
    """
    if not samples:
        raise ValueError("fusion needs at least one validation captcha read by both readers")
    accuracy = [float(_choices(samples, w, spacing_weight)[0].mean()) for w in WEIGHTS]
    w_at, w_lo, w_hi = middle_of_best(accuracy)
    weight = float(WEIGHTS[w_at])
    fused_ok, scores = _choices(samples, weight, spacing_weight)
    # Targets by the rule of succession, (k + 1) / (n + 2) for a right answer: when every validation
    # captcha is right (300 of 300 on the seed style) the plain log loss falls for ever as the
    # temperature rises, the fit ran to the top of the grid, and a wrong fused answer came out 0.999 sure.
    eps = 1.0 / (len(samples) + 2)
    target = np.where(fused_ok, 1.0 - eps, eps)
    losses = []
    for tau in TEMPERATURES:
        conf = np.array([candidate_probabilities(sc, tau).max() if len(sc) else 0.0 for sc in scores])
        conf = np.clip(conf, 1e-6, 1 - 1e-6)
        losses.append(-np.mean(target * np.log(conf) + (1 - target) * np.log1p(-conf)))
    temperature = float(TEMPERATURES[int(np.argmin(losses))])
    fused_conf = np.array(
        [candidate_probabilities(sc, temperature).max() if len(sc) else 0.0 for sc in scores]
    )
    labels = [s.label for s in samples]
    classical_ok = np.array([s.classical_text == y for s, y in zip(samples, labels)])
    neural_ok = np.array([s.neural_text == y for s, y in zip(samples, labels)])
    plausible = np.array([s.plausible for s in samples])
    cconf = np.array([s.classical_confidence for s in samples])
    rule = [np.where(keep_classical(plausible, cconf, t), classical_ok, fused_ok).mean() for t in THRESHOLDS]
    t_at, t_lo, t_hi = middle_of_best(rule)
    threshold = float(THRESHOLDS[t_at])
    keep = keep_classical(plausible, cconf, threshold)
    return {
        "weight_classical": weight,
        "weight_range": [float(WEIGHTS[w_lo]), float(WEIGHTS[w_hi])],
        "temperature": round(temperature, 6),
        "min_confidence": threshold,
        "best_range": [float(THRESHOLDS[t_lo]), float(THRESHOLDS[t_hi])],
        "val_exact": round(float(rule[t_at]), 6),
        "val_exact_fused": round(float(fused_ok.mean()), 6),
        "val_exact_classical": round(float(classical_ok.mean()), 6),
        "val_exact_neural": round(float(neural_ok.mean()), 6),
        "neural_share": round(float(1.0 - keep.mean()), 6),
        "ece": round(
            expected_calibration_error(
                np.where(keep, cconf, fused_conf), np.where(keep, classical_ok, fused_ok)
            ),
            6,
        ),
        "n": len(samples),
    }


def fusion_samples(model: Model, paths: Iterable[str | Path], *, show: bool = False, skipped=None) -> list:
    """:class:`FusionSample` of each labelled captcha, as ``model`` weighs it (unreadable files go to ``skipped``)."""
    out = []
    paths = list(paths)
    shown = progress(paths, total=len(paths), desc="fusion", enabled=show)
    for _, label, rgb in read_labelled(shown, model.config.input, skipped=skipped):
        classical, answer, candidates, f_neural, f_classical, spacing = model.evidence(rgb)
        out.append(
            FusionSample(
                label=label,
                classical_text=classical.text,
                classical_confidence=float(classical.confidence),
                plausible=bool(classical.plausible),
                neural_text=answer.text,
                candidates=tuple(candidates),
                f_neural=tuple(float(v) for v in f_neural),
                f_classical=tuple(float(v) for v in f_classical),
                spacing=() if spacing is None else tuple(float(v) for v in spacing),
            )
        )
    return out


def _bearings_of(model: Model, paths):
    """The side-bearing table of ``model``'s classical reader on labelled captchas (None: too few gaps)."""
    reader = model.classical
    return fit_bearings(bearing_samples(paths, reader.seg_params, model.config.input), reader.charset)


def fit_fusion_on(
    model: Model, paths: Iterable[str | Path], *, show: bool = False, skipped=None, spacing_paths=None
) -> dict:
    """Fit the fusion of ``model``'s two readers on labelled captchas (:func:`fit_fusion` of their samples).

    With ``spacing_paths`` (the training captchas) the result also holds
    ``spacing``, the side-bearing table fitted on them (:func:`fit_bearings`),
    when they have enough plainly segmented captchas.

    Raises
    ------
    ValueError
        If the model lacks a reader, or no captcha could be read.
    """
    spacing = None
    if spacing_paths is not None and model.classical is not None:
        table = _bearings_of(model, spacing_paths)
        if table is not None:
            # Fitted first, so that the weights are fitted on the evidence reading will weigh.
            spacing = table.to_dict()
            old = model.manifest.fusion or Fusion()
            model = model.with_manifest(replace(model.manifest, fusion=replace(old, spacing=spacing)))
    samples = fusion_samples(model, paths, show=show, skipped=skipped)
    if not samples:
        raise ValueError("no readable labelled captcha to fit the fusion on")
    fitted = fit_fusion(samples, model.policy.spacing_weight)
    if spacing is not None:
        fitted["spacing"] = spacing
    if model.policy.bearings is not None:
        fitted["spacing_weight"] = model.policy.spacing_weight
    return fitted


def tune_fusion(model: Model, dataset_dir: str | Path, *, logger, show: bool = False) -> Manifest:
    """Refit a published model's fusion on a labelled folder and record it in its manifest (``fusion``).

    Returns the updated manifest.

    Raises
    ------
    ValueError
        If the model lacks one of the two readers, or no image could be read.
    """
    if model.classical is None or model.neural is None:
        raise ValueError(f"{model.folder}: fusion needs both readers; this model has only one")
    images, rejected = list_dataset(dataset_dir, model.config.input)
    skipped = [(str(p), reason) for p, reason in rejected]
    try:
        picked = dict(fit_fusion_on(model, images, show=show, skipped=skipped), dataset=str(dataset_dir))
    except ValueError as exc:
        raise ValueError(f"{dataset_dir}: {exc}") from None
    finally:
        for path, reason in skipped:
            logger.warning("skipped %s: %s", path, reason)
    old = model.manifest.fusion
    if old is not None and old.spacing:  # the bearings came from the training captchas: keep them
        picked["spacing"] = old.spacing
    manifest = update_manifest(model.folder, {"fusion": picked})
    logger.info(
        "fusion: classical weight %.2f, temperature %.3f, fast path from %.2f, fitted on %d captchas of %s "
        "(exact %.4f, ECE %.4f)",
        picked["weight_classical"],
        picked["temperature"],
        picked["min_confidence"],
        picked["n"],
        dataset_dir,
        picked["val_exact"],
        picked["ece"],
    )
    return manifest


def record_bearings(model: Model, dataset_dir: str | Path, *, logger) -> Manifest:
    """Fit the side-bearing table on a labelled folder and record it in a published model (``fusion.spacing``).

    For a model trained before training fitted the table: give it the
    captchas it trained on (the table describes the style's font, and
    the more plainly segmented captchas the better). The rest of the
    manifest is kept. Returns the updated manifest.

    Raises
    ------
    ValueError
        If the model has no classical reader, or the folder has too few
        plainly segmented captchas (fewer than ``MIN_GAPS`` gaps).
    """
    if model.classical is None:
        raise ValueError(f"{model.folder}: side bearings need the classical reader; this model has none")
    images, rejected = list_dataset(dataset_dir, model.config.input)
    for path, reason in rejected:
        logger.warning("skipped %s: %s", path, reason)
    table = _bearings_of(model, images)
    if table is None:
        raise ValueError(f"{dataset_dir}: too few plainly segmented captchas to fit side bearings")
    old = model.manifest.fusion
    fusion = dict(old.to_dict() if old is not None else {}, spacing=table.to_dict())
    manifest = update_manifest(model.folder, {"fusion": fusion})
    logger.info("fusion: side bearings fitted on %d gaps of %s", table.n_gaps, dataset_dir)
    return manifest
