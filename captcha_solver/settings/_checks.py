"""Declarative constraints for configuration fields.

A check is a callable ``check(value) -> bool`` with a ``describe(noun)``
method producing the "what is allowed" part of an error message, e.g.
``Range(0, 1, inclusive=False).describe("a number") == "a number in (0, 1)"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

__all__ = ["Check", "Choice", "NonEmpty", "Predicate", "Range", "Subset"]


class Check:
    """Base class: ``__call__`` says whether a (type-checked) value is allowed."""

    def __call__(self, value) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self, noun: str) -> str:
        """Describe the allowed values, starting with the type ``noun`` (e.g. "an integer")."""
        return noun

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe('value')!r})"


class Range(Check):
    """A number between ``low`` and ``high``.

    Parameters
    ----------
    low, high : float or None
        Bounds; ``None`` leaves that side open.
    inclusive : bool or (bool, bool), optional
        Whether the bounds themselves are allowed, for both or for (low, high).
    """

    def __init__(self, low=None, high=None, *, inclusive: bool | tuple[bool, bool] = True):
        if low is None and high is None:
            raise ValueError("Range needs at least one of low and high")
        self.low, self.high = low, high
        self.low_inclusive, self.high_inclusive = (
            inclusive if isinstance(inclusive, tuple) else (inclusive, inclusive)
        )

    def __call__(self, value) -> bool:
        if value != value:  # NaN: every comparison below would be False, i.e. "in range"
            return False
        if self.low is not None and (value < self.low if self.low_inclusive else value <= self.low):
            return False
        if self.high is not None and (value > self.high if self.high_inclusive else value >= self.high):
            return False
        return True

    def describe(self, noun: str) -> str:
        if self.high is None:
            return f"{noun} {'>=' if self.low_inclusive else '>'} {self.low}"
        if self.low is None:
            return f"{noun} {'<=' if self.high_inclusive else '<'} {self.high}"
        left = "[" if self.low_inclusive else "("
        right = "]" if self.high_inclusive else ")"
        return f"{noun} in {left}{self.low}, {self.high}{right}"


class Choice(Check):
    """One of a fixed set of values."""

    def __init__(self, *choices):
        self.choices = tuple(choices)

    def __call__(self, value) -> bool:
        return value in self.choices

    def describe(self, noun: str) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)


class Subset(Check):
    """A list whose items come from ``choices``, without repeats (and non-empty unless ``allow_empty``)."""

    def __init__(self, *choices, allow_empty: bool = False):
        self.choices = tuple(choices)
        self.allow_empty = allow_empty

    def __call__(self, value: Iterable) -> bool:
        items = list(value)
        if not items and not self.allow_empty:
            return False
        return len(set(items)) == len(items) and all(item in self.choices for item in items)

    def describe(self, noun: str) -> str:
        size = "a list" if self.allow_empty else "a non-empty list"
        return f"{size} of distinct items from " + ", ".join(repr(c) for c in self.choices)


class NonEmpty(Check):
    """A non-empty string or list."""

    def __call__(self, value) -> bool:
        return len(value) > 0

    def describe(self, noun: str) -> str:
        return f"{noun}, not empty"


class Predicate(Check):
    """Any rule given as a function and the phrase that describes it.

    Examples
    --------
    >>> lower_dot = Predicate(lambda v: all(e.startswith(".") for e in v), "extensions starting with '.'")
    """

    def __init__(self, function: Callable[[object], bool], description: str):
        self.function = function
        self.description = description

    def __call__(self, value) -> bool:
        return bool(self.function(value))

    def describe(self, noun: str) -> str:
        return f"{noun} with {self.description}"
