"""The one ONNX parity check of the training wing: an exported graph must compute what was trained."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

__all__ = ["ExportMismatchError", "check_parity", "max_abs_difference"]


class ExportMismatchError(RuntimeError):
    """An exported ONNX graph computes something else than the model it was exported from."""


def max_abs_difference(
    runtime: Callable[[np.ndarray], np.ndarray],
    reference: Callable[[np.ndarray], np.ndarray],
    batches: Iterable[np.ndarray],
    *,
    floor: float | None = None,
) -> float:
    """Largest absolute difference between two functions' outputs over ``batches`` (0.0 for none).

    Parameters
    ----------
    runtime, reference : callable
        The exported graph on onnxruntime, and the framework's model.
    batches : iterable of ndarray
        Inputs both are run on.
    floor : float, optional
        Outputs are clipped from below first (log-probabilities: -inf-ish
        tails are noise, differences matter where probabilities do).
    """
    worst = 0.0
    for batch in batches:
        got, ref = np.asarray(runtime(batch)), np.asarray(reference(batch))
        if got.size == 0:
            continue
        if floor is not None:
            got, ref = np.maximum(got, floor), np.maximum(ref, floor)
        worst = max(worst, float(np.abs(got - ref).max()))
    return worst


def check_parity(difference: float, tolerance: float, what: str) -> float:
    """``difference`` if it is within ``tolerance``.

    Raises
    ------
    ExportMismatchError
        If it is not: the export would read differently from training.
    """
    if not difference <= tolerance:
        raise ExportMismatchError(
            f"ONNX export of {what} disagrees with the trained model (max difference {difference:.2e}, "
            f"tolerance {tolerance:.0e})"
        )
    return difference
