"""The one progress bar of the project: tqdm on stderr, or nothing."""

from __future__ import annotations

import sys
from collections.abc import Iterable

__all__ = ["progress"]


def progress(
    iterable: Iterable | None = None, *, total: int | None = None, desc: str = "", enabled: bool = True
):
    """Wrap ``iterable`` in a tqdm bar on stderr when ``enabled``, else return it unchanged.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate; None gives a bar to ``update()`` by hand (or None when disabled).
    total : int, optional
        Number of items, when ``iterable`` has no length.
    desc : str
        Label of the bar ("predict", "generate", ...).
    enabled : bool
        False (tests, worker processes, quiet runs) shows nothing.

    Returns
    -------
    iterable, tqdm bar or None
    """
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="img", file=sys.stderr, leave=iterable is not None)
