"""The ``field`` helper and the ``Section`` base class that validates itself."""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any, ClassVar

from captcha_solver.settings._checks import Check
from captcha_solver.settings._errors import ConfigError

__all__ = ["Section", "field", "type_noun"]

_NOUNS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
_PLURALS = {int: "integers", float: "numbers", str: "strings", bool: "booleans"}


def field(default, check: Check | None = None, *, doc: str):
    """Declare one configuration key: its default, its constraint and its documentation.

    Parameters
    ----------
    default : int, float, str, bool or tuple
        Default value (lists must be given as tuples: sections are frozen).
    check : Check, optional
        Constraint beyond the type, e.g. ``Range(0, 1, inclusive=False)``.
    doc : str
        One sentence; it becomes the key's comment in ``config.yaml``.

    Examples
    --------
    >>> threshold_ratio: float = field(0.6, Range(0, 1, inclusive=False), doc="...")  # doctest: +SKIP
    """
    if isinstance(default, list):
        default = tuple(default)
    return dataclasses.field(default=default, metadata={"check": check, "doc": doc})


def type_noun(annotation) -> str:
    """The phrase naming a field type in messages ("an integer", "a list of strings")."""
    if typing.get_origin(annotation) is tuple:
        (item, *_rest) = typing.get_args(annotation)
        return f"a list of {_PLURALS[item]}"
    return _NOUNS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _coerce_scalar(value, kind):
    """Return ``value`` as ``kind`` when that is lossless and unsurprising, else raise TypeError."""
    # bool is an int subclass in Python; "true" must not pass as 1.
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind is str:
        if isinstance(value, str):
            return value
    raise TypeError


def _finite(value) -> bool:
    """False for a float (or a list holding one) that is NaN or infinite."""
    items = value if isinstance(value, tuple) else (value,)
    return all(math.isfinite(v) for v in items if isinstance(v, float))


def coerce(value, annotation):
    """Convert a raw (YAML) value to the field's declared type, raising TypeError if it is not one."""
    if typing.get_origin(annotation) is tuple:
        (item, *_rest) = typing.get_args(annotation)
        if not isinstance(value, (list, tuple)):
            raise TypeError
        return tuple(_coerce_scalar(v, item) for v in value)
    return _coerce_scalar(value, annotation)


class Section:
    """Base class of a configuration section (a frozen dataclass).

    Subclasses set ``_section`` to their YAML name and declare keys with
    :func:`field`. Values are type-checked and constraint-checked when the
    section is built, so an invalid ``Config`` cannot exist. Rules spanning
    several keys go in :meth:`cross_check`.
    """

    _section: ClassVar[str] = ""

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for spec in dataclasses.fields(self):
            key = f"{self._section}.{spec.name}"
            value = getattr(self, spec.name)
            annotation = hints[spec.name]
            check = spec.metadata.get("check")
            noun = type_noun(annotation)
            expected = check.describe(noun) if check is not None else noun
            try:
                coerced = coerce(value, annotation)
            except TypeError:
                raise ConfigError.invalid(key, value, f"{expected}, got {type(value).__name__}") from None
            # NaN compares False with every bound, so it would pass any Range: refuse it (and infinity) first.
            if not _finite(coerced):
                raise ConfigError.invalid(key, value, f"{expected}, not NaN or infinity")
            if check is not None and not check(coerced):
                raise ConfigError.invalid(key, value, expected)
            # Frozen dataclass: the normalised value (e.g. list -> tuple, 1 -> 1.0) is set this way.
            object.__setattr__(self, spec.name, coerced)
        self.cross_check()

    def cross_check(self) -> None:
        """Validate rules between keys; raise ``ConfigError.invalid(...)``. Nothing by default."""

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """Names of the section's keys, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def describe_key(cls, name: str) -> tuple[str, str]:
        """Return ``(doc, allowed)`` for key ``name``, used for the YAML comments."""
        spec = {f.name: f for f in dataclasses.fields(cls)}[name]
        annotation = typing.get_type_hints(cls)[name]
        check = spec.metadata.get("check")
        noun = type_noun(annotation)
        return spec.metadata.get("doc", ""), (check.describe(noun) if check is not None else noun)

    def to_dict(self) -> dict[str, Any]:
        """The section as plain YAML-ready values (tuples become lists)."""
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in dataclasses.fields(self)
        }
