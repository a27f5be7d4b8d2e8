"""The evaluation report of a labelled folder, and the accuracy summary of a predict run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from captcha_solver.image_io import ImageDecodeError, decode_image, label_from_path, label_problem
from captcha_solver.metrics import (
    confusion_pairs,
    expected_calibration_error,
    macro_roc_auc,
    per_character_accuracy,
    summarize,
    wilson_interval,
)
from captcha_solver.settings import Config
from features import extract_features
from segmentation import segment

__all__ = ["evaluation_report", "glyph_report", "labelled_summary"]


def _image_rows(rows: list[dict], config: Config) -> list[dict]:
    # Every image file counts (an unreadable one as a miss); folders and
    # files of other kinds are not captchas.
    extensions = tuple(config.input.extensions)
    return [r for r in rows if Path(r["file"]).suffix.lower() in extensions and Path(r["file"]).is_file()]


def labelled_summary(rows: list[dict], config: Config) -> dict | None:
    """Exact and character accuracy and CER of a predict run, or None when the files are not all labelled.

    Returns
    -------
    summary : dict or None
        ``n, exact_accuracy, character_accuracy, cer`` (:func:`evaluation.summarize`).
    """
    images = _image_rows(rows, config)
    labels = [label_from_path(r["file"]) for r in images]
    if not images or any(label_problem(label) for label in labels):
        return None
    return summarize([r["prediction"] for r in images], labels)


def evaluation_report(rows: list[dict], model, config: Config) -> dict:
    """Accuracy, confusions, per-character accuracy, yields and glyph ROC AUC of predicted rows.

    Parameters
    ----------
    rows : list of dict
        ``predict_dataset`` rows of a labelled folder.
    model : inference.Model or None
        The model that read the rows; its classical reader gives the glyph
        figures (NaN without one).
    config : Config

    Returns
    -------
    report : dict
        :func:`evaluation.summarize`'s keys plus ``segmentation_yield``,
        ``confused_pairs``, ``per_character_accuracy``, ``glyph_macro_roc_auc``,
        ``plain_segmentation_yield``, ``latency_ms_median``, ``errors``,
        ``ece`` (expected calibration error of the confidences: how far
        "90% sure" is from 90% right), ``readers`` (how many answers each
        reader gave: classical, neural, fused) and
        ``exact_accuracy_ci95`` (the 95% Wilson interval of the exact accuracy).
    """
    labelled = _image_rows(rows, config)
    preds = [r["prediction"] for r in labelled]
    labels = [label_from_path(r["file"]) for r in labelled]
    report = summarize(preds, labels)
    report["segmentation_yield"] = (
        float(np.mean([len(p) == len(t) for p, t in zip(preds, labels)])) if labels else 0.0
    )
    report["confused_pairs"] = [[a, b, n] for (a, b), n in confusion_pairs(preds, labels, top=20)]
    report["per_character_accuracy"] = {
        c: round(ok / total, 4) for c, (ok, total) in sorted(per_character_accuracy(preds, labels).items())
    }
    classical = getattr(model, "classical", None)
    report["glyph_macro_roc_auc"], report["plain_segmentation_yield"] = glyph_report(
        labelled, classical, config
    )
    report["latency_ms_median"] = float(np.median([r["latency_ms"] for r in rows])) if rows else 0.0
    report["errors"] = sum(r["status"] == "error" for r in rows)
    correct = [p == t for p, t in zip(preds, labels)]
    report["ece"] = round(expected_calibration_error([r["confidence"] for r in labelled], correct), 6)
    report["exact_accuracy_ci95"] = list(wilson_interval(sum(correct), len(correct)))
    report["readers"] = dict(sorted(Counter(r["reader"] for r in labelled if r["reader"]).items()))
    return report


def glyph_report(rows: list[dict], reader, config: Config) -> tuple[float, float]:
    """Glyph classifier's macro one-vs-rest ROC AUC, and the plain segmentation's yield.

    The yield is the share of captchas whose connected components (dots
    merged, specks aside) number exactly the label's characters, before
    the classifier has any say; the AUC is measured on their glyphs.
    """
    if reader is None:
        return float("nan"), float("nan")
    index = {c: i for i, c in enumerate(reader.charset)}
    X, y, matched, seen = [], [], 0, 0
    for row in rows[:2000]:
        label = label_from_path(row["file"])
        if any(c not in index for c in label):
            continue
        try:
            rgb = decode_image(row["file"], limits=config.input)
        except ImageDecodeError:
            continue
        seg = segment(rgb, reader.seg_params)
        spans = seg.blob_spans()
        seen += 1
        if len(spans) != len(label):
            continue
        matched += 1
        X.append(extract_features(seg, spans, reader.feat_params))
        y.extend(index[c] for c in label)
    yield_ = matched / seen if seen else float("nan")
    if not X:
        return float("nan"), yield_
    proba = reader.classify(np.vstack(X))
    return float(macro_roc_auc(y, proba, list(range(proba.shape[1])))), yield_
