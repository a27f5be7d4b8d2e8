"""Read a captcha with segmentation, glyph features and a glyph classifier."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from captcha_solver.glyph_reader._decode import Reading, best_path, forced_alignment
from captcha_solver.read_result import ReadResult, check_case
from features import FeatureParams, extract_features, glyph_extent
from segmentation import Segmentation, SegmentationParams, segment

__all__ = ["DecodeParams", "GlyphReader", "lattice_proba", "restrict_proba"]


def restrict_proba(proba: np.ndarray, charset: str, allowed: str | None, case: str) -> np.ndarray:
    """Class probabilities under a predict-time charset and case policy.

    Parameters
    ----------
    proba : (N, len(charset) + 1) ndarray
        Last column is the garbage class, which is never restricted.
    charset : str
    allowed : str or None
        Characters a reading may use; None or "" allows all.
    case : {"sensitive", "lower", "upper"}
        "lower"/"upper" adds each letter's other-case probability to this form.

    Returns
    -------
    (N, len(charset) + 1) ndarray of float32, rows renormalised

    Raises
    ------
    ValueError
        If ``case`` is unknown or ``allowed`` shares no character with ``charset``.
    """
    check_case(case)
    out = np.array(proba, dtype=np.float32, copy=True)
    index = {c: i for i, c in enumerate(charset)}
    if case != "sensitive":
        for c, i in index.items():
            other = c.swapcase()
            if c.isalpha() and other in index and (c.islower() == (case == "lower")):
                out[:, i] += out[:, index[other]]
                out[:, index[other]] = 0.0
    if allowed:
        if not set(allowed) & set(charset):
            raise ValueError(
                f"allowed characters {allowed!r} share none with the model's charset {charset!r}"
            )
        for c, i in index.items():
            if c not in allowed:
                out[:, i] = 0.0
    total = out.sum(axis=1, keepdims=True)
    return out / np.maximum(total, 1e-12)


@dataclass(frozen=True)
class DecodeParams:
    """Settings of the lattice decoder (config.yaml, section ``decoding``)."""

    skip_penalty: float = 4.0
    fast_accept: float = 0.9


def lattice_proba(
    seg: Segmentation,
    classify: Callable[[np.ndarray], np.ndarray],
    seg_params: SegmentationParams,
    feat_params: FeatureParams,
) -> tuple[list[tuple[int, int]], np.ndarray, dict[str, float]]:
    """Candidate glyphs of a segmented captcha and their class probabilities."""
    t0 = time.perf_counter()
    spans = seg.candidate_spans(seg_params.max_span, seg_params.max_glyph_width_ratio)
    X = extract_features(seg, spans, feat_params)
    t1 = time.perf_counter()
    proba = classify(X) if len(spans) else np.zeros((0, 1), np.float32)
    t2 = time.perf_counter()
    return spans, proba, {"features": (t1 - t0) * 1e3, "classifier": (t2 - t1) * 1e3}


class GlyphReader:
    """Segmentation + features + classifier + lattice decoding.

    Parameters
    ----------
    classify : callable
        Maps a (N, D) float32 feature matrix to (N, len(charset) + 1)
        probabilities; the last column is the garbage class.
    charset : str
        The characters, in class-index order.
    seg_params, feat_params, decode_params
        The settings the classifier was trained with.
    """

    def __init__(
        self,
        classify: Callable[[np.ndarray], np.ndarray],
        charset: str,
        seg_params: SegmentationParams,
        feat_params: FeatureParams,
        decode_params: DecodeParams = DecodeParams(),
    ):
        self.classify = classify
        self.charset = charset
        self.garbage = len(charset)
        self.seg_params = seg_params
        self.feat_params = feat_params
        self.decode_params = decode_params

    def read(self, image: np.ndarray, *, allowed: str | None = None, case: str = "sensitive") -> ReadResult:
        """Read one RGB captcha, (H, W, 3) uint8.

        ``allowed`` restricts the characters a reading may use (a site that
        only shows digits); ``case`` "lower" or "upper" merges each letter's
        two cases into that form (a site that ignores case). See
        :func:`restrict_proba`.
        """
        return self.analyse(image, allowed=allowed, case=case)[0]

    def _classifier(self, allowed: str | None, case: str):
        if not allowed and case == "sensitive":
            return self.classify

        # A local wrapper, not an attribute: one reader serves many threads.
        def classify(X, _base=self.classify):
            return restrict_proba(_base(X), self.charset, allowed, case)

        return classify

    def score_texts(
        self, seg: Segmentation, texts, *, allowed: str | None = None, case: str = "sensitive"
    ) -> np.ndarray:
        """The lattice's log-probability of each text: its best segmentation path (forced alignment).

        Parameters
        ----------
        seg : Segmentation
            The captcha's segmentation (from :meth:`analyse`).
        texts : sequence of str
        allowed, case
            As in :meth:`read`.

        Returns
        -------
        (len(texts),) ndarray of float
            ``-inf`` for a text with a character outside the charset or that no path reads.
        """
        return self.text_evidence(seg, texts, allowed=allowed, case=case)[0]

    def text_evidence(
        self, seg: Segmentation, texts, *, bearings=None, allowed: str | None = None, case: str = "sensitive"
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`score_texts`, and each text's spacing log-likelihood along that same path.

        ``bearings`` (a :class:`captcha_solver.fusion.Bearings`) scores the
        gaps between the edges (:func:`features.glyph_extent`) of the glyphs
        each text was aligned to; without it the
        second array is None. Either array is ``-inf`` where no path reads the text.
        """
        out = np.full(len(texts), -np.inf)
        spacing = None if bearings is None else np.full(len(texts), -np.inf)
        index = {c: i for i, c in enumerate(self.charset)}
        if not seg.atoms or len(seg.atoms) > 4 * self.seg_params.max_glyphs:
            return out, spacing
        spans, proba, _ = lattice_proba(
            seg, self._classifier(allowed, case), self.seg_params, self.feat_params
        )
        skippable = seg.owner_spans()
        edges: dict[tuple[int, int], tuple[float, float]] = {}
        for k, text in enumerate(texts):
            if not text or any(c not in index for c in text):
                continue
            reading = forced_alignment(
                len(seg.atoms),
                spans,
                proba,
                self.garbage,
                [index[c] for c in text],
                skippable,
                self.decode_params.skip_penalty,
            )
            if reading is None:
                continue
            out[k] = reading.log_score
            if spacing is not None:
                for span in reading.spans:  # the candidates share most glyphs: each edge read once
                    if span not in edges:
                        edges[span] = glyph_extent(seg.text.ink, seg.span(*span))
                boxes = [edges[span] for span in reading.spans]
                spacing[k] = bearings.log_likelihood(text, boxes, seg.line.height)
        return out, spacing

    def analyse(
        self, image: np.ndarray, *, allowed: str | None = None, case: str = "sensitive"
    ) -> tuple[ReadResult, Segmentation]:
        """:meth:`read`, and the segmentation it read (for :meth:`score_texts`)."""
        classify = self._classifier(allowed, case)
        t0 = time.perf_counter()
        seg = segment(image, self.seg_params)
        t1 = time.perf_counter()
        timings = {"segmentation": (t1 - t0) * 1e3}
        if not seg.atoms or len(seg.atoms) > 4 * self.seg_params.max_glyphs:
            # No ink, or so many pieces that this is noise rather than text
            # (the lattice over them would take long and read nothing).
            return ReadResult("", 0.0, (), "classical", n_blobs=len(seg.blobs), timings_ms=timings), seg
        units = seg.owner_spans()
        t2 = time.perf_counter()
        X = extract_features(seg, units, self.feat_params)
        t3 = time.perf_counter()
        proba = classify(X)
        t4 = time.perf_counter()
        timings.update(features=(t3 - t2) * 1e3, classifier=(t4 - t3) * 1e3)
        is_mark = np.array([seg.atom_owner[start] >= len(seg.blobs) for start, _ in units], dtype=bool)
        if not self._confident(proba, is_mark):
            # Some component is not a confident glyph (touching pair, piece of
            # a cut glyph): score every run of atoms and let the lattice choose.
            # The components' own rows are already scored: add only the other runs.
            t5 = time.perf_counter()
            known = set(units)
            extra = [
                s
                for s in seg.candidate_spans(self.seg_params.max_span, self.seg_params.max_glyph_width_ratio)
                if s not in known
            ]
            if extra:
                X_extra = extract_features(seg, extra, self.feat_params)
                t6 = time.perf_counter()
                proba = np.vstack([proba, classify(X_extra)])
                units = units + extra
                timings["features"] += (t6 - t5) * 1e3
                timings["classifier"] += (time.perf_counter() - t6) * 1e3
        t5 = time.perf_counter()
        reading = best_path(
            len(seg.atoms), units, proba, self.garbage, seg.owner_spans(), self.decode_params.skip_penalty
        )
        timings["decoding"] = (time.perf_counter() - t5) * 1e3
        return self._result(seg, reading, timings), seg

    def _confident(self, proba: np.ndarray, is_mark: np.ndarray) -> bool:
        """True when every glyph blob is plainly one glyph and every mark plainly one glyph or noise.

        A glyph-sized blob that looks like garbage is most likely two glyphs
        touching: only the full lattice can split it.
        """
        threshold = self.decode_params.fast_accept
        if threshold >= 1.0:
            return False
        real = np.delete(proba, self.garbage, axis=1).max(axis=1)
        noise = is_mark & (proba[:, self.garbage] >= threshold)
        return bool(np.all((real >= threshold) | noise))

    def align(self, seg: Segmentation, target: list[int]) -> Reading | None:
        """Forced alignment of a known text (training), see ``forced_alignment``."""
        spans, proba, _ = lattice_proba(seg, self.classify, self.seg_params, self.feat_params)
        return forced_alignment(
            len(seg.atoms),
            spans,
            proba,
            self.garbage,
            target,
            seg.owner_spans(),
            self.decode_params.skip_penalty,
        )

    def _result(self, seg: Segmentation, reading: Reading, timings: dict[str, float]) -> ReadResult:
        text = "".join(self.charset[c] for c in reading.classes)
        probs = [float(p) for p in reading.probabilities]
        boxes = []
        for start, stop in reading.spans:
            b = seg.span(start, stop)
            boxes.append((b.x0, b.y0, b.width, b.height))
        confidence = float(np.prod(probs)) if probs else 0.0
        return ReadResult(
            text,
            confidence,
            tuple(probs),
            "classical",
            boxes=tuple(boxes),
            n_blobs=len(seg.blobs),
            timings_ms=timings,
        )
