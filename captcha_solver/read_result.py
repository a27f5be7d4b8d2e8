"""One reading type for every reader, and the one place it is turned into rows.

Both readers (the classical :class:`~captcha_solver.glyph_reader.GlyphReader`
and the :class:`~captcha_solver.neural.NeuralReader`) return a
:class:`ReadResult`; the solver turns it (or an error) into the row that the
results CSV, the API, the UI and evaluation all read, with :func:`result_row`
and :func:`error_row`, and :func:`csv_row` / :func:`api_row` pick their fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from captcha_solver.common import RESULTS_COLUMNS

__all__ = ["CASES", "ReadResult", "api_row", "check_case", "csv_row", "error_row", "result_row"]

#: The case policies of both readers: keep case, or merge each letter's two cases into one form.
CASES = ("sensitive", "lower", "upper")


def check_case(case: str) -> None:
    """The one case-policy check of both readers.

    Raises
    ------
    ValueError
        If ``case`` is not one of :data:`CASES`.
    """
    if case not in CASES:
        raise ValueError(f"case must be 'sensitive', 'lower' or 'upper', got {case!r}")


@dataclass(frozen=True)
class ReadResult:
    """What a reader read in one captcha.

    Attributes
    ----------
    text : str
        The reading ("" when nothing was found).
    confidence : float
        Chance that the whole text is right: the product of the character
        probabilities (classical) or its calibrated power (neural).
    char_confidences : tuple of float
        Probability of each character of ``text``.
    reader : {"classical", "neural", "fused"}
        Which reader produced it ("fused": the candidate with the best combined
        evidence of both readers, see :func:`captcha_solver.inference.read_routed`).
    boxes : tuple of (x, y, w, h)
        Box of each glyph in image pixels (the classical reader; empty for the neural one).
    topk : tuple of (str, float)
        The most likely texts with their probability (neural, when asked for).
    n_blobs : int
        Connected components of the plain segmentation (classical; 0 for the
        neural reader): one per character means the segmentation likely went right.
    timings_ms : mapping of str to float
        Time of each stage in milliseconds.
    """

    text: str
    confidence: float
    char_confidences: tuple[float, ...]
    reader: str
    boxes: tuple[tuple[int, int, int, int], ...] = ()
    topk: tuple[tuple[str, float], ...] = ()
    n_blobs: int = 0
    timings_ms: Mapping[str, float] = field(default_factory=dict)

    @property
    def plausible(self) -> bool:
        """One connected component per character read: the segmentation likely went right."""
        return bool(self.text) and self.n_blobs == len(self.text)


def result_row(
    name: str, result: ReadResult, *, latency_ms: float = 0.0, timings_ms: Mapping | None = None
) -> dict:
    """The row of a reading: ``file, prediction, confidence, char_confidences, boxes, topk, reader, status, error``.

    A reading with no text is an error row ("<name>: no text found") that still names its reader.
    """
    # The neural reader's own "decode" is CTC decoding, not image decoding: prefixed.
    own = {
        (f"neural_{k}" if result.reader == "neural" else k): v
        for k, v in result.timings_ms.items()
        if k != "total"
    }
    return {
        "file": name,
        "prediction": result.text,
        "confidence": float(result.confidence),
        "char_confidences": [float(c) for c in result.char_confidences],
        "boxes": [tuple(int(v) for v in box) for box in result.boxes],
        "topk": [[text, float(p)] for text, p in result.topk],
        "reader": result.reader,
        "status": "ok" if result.text else "error",
        "error": "" if result.text else f"{name}: no text found",
        "latency_ms": float(latency_ms),
        "timings_ms": {**(timings_ms or {}), **own},
    }


def error_row(name: str, error: str, *, latency_ms: float = 0.0, reader: str = "") -> dict:
    """The row of a file that was not read: ``status="error"``, no reader unless one ran."""
    return {
        "file": name,
        "prediction": "",
        "confidence": 0.0,
        "char_confidences": [],
        "boxes": [],
        "topk": [],
        "reader": reader,
        "status": "error",
        "error": error,
        "latency_ms": float(latency_ms),
        "timings_ms": {},
    }


def csv_row(row: Mapping[str, Any]) -> dict:
    """The results-CSV columns of a row (``timestamp`` is added by the results log)."""
    return {k: row.get(k, "") for k in RESULTS_COLUMNS if k != "timestamp"}


def api_row(row: Mapping[str, Any]) -> dict:
    """A row as the API's JSON answer (plain JSON types: boxes may hold numpy integers)."""
    return {
        "name": row["file"],
        "text": row["prediction"],
        "confidence": float(row["confidence"]),
        "char_confidences": [float(c) for c in row["char_confidences"]],
        "boxes": [[int(v) for v in box] for box in row.get("boxes", [])],
        "reader": row["reader"],
        "status": row["status"],
        "error": row["error"],
        "latency_ms": round(float(row["latency_ms"]), 3),
    }
