"""Registry references: ``models:/NAME@alias``, ``models:/NAME/VERSION``, or a bare version number."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ModelRef", "RegistryError", "is_registry_ref", "parse_ref"]

SCHEME = "models:/"
_REF = re.compile(r"models:/(?P<name>[^/@]+)(?:/(?P<version>[^/@]+)|@(?P<alias>[^/@]+))")
_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,99}")


class RegistryError(ValueError):
    """A registry reference or operation that cannot be carried out; the message names the value."""


@dataclass(frozen=True)
class ModelRef:
    """One model of the registry: a name and either a version number or an alias.

    Attributes
    ----------
    name : str
    version : int or None
    alias : str or None
    """

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        return f"{SCHEME}{self.name}@{self.alias}" if self.alias else f"{SCHEME}{self.name}/{self.version}"


def is_registry_ref(text: object) -> bool:
    """True for a string meant as a registry reference (``models:/...``); a bare number is for the CLI to decide."""
    return isinstance(text, str) and text.startswith(SCHEME)


def parse_ref(text: str, default_name: str) -> ModelRef:
    """The :class:`ModelRef` of ``text``: ``models:/NAME@alias``, ``models:/NAME/3`` or ``3`` (``default_name``).

    Raises
    ------
    RegistryError
        If ``text`` is not one of these forms (the message quotes it and shows them).
    """
    forms = "expected models:/NAME@ALIAS, models:/NAME/VERSION or a version number"
    if text.isdigit():
        version = int(text)
        if version < 1:
            raise RegistryError(f"model reference {text!r}: versions start at 1")
        return ModelRef(default_name, version=version)
    match = _REF.fullmatch(text)
    if not match:
        raise RegistryError(f"model reference {text!r} is not understood; {forms}")
    name, version, alias = match.group("name", "version", "alias")
    if alias is not None:
        if not _ALIAS.fullmatch(alias):
            raise RegistryError(f"model reference {text!r}: alias {alias!r} is not a valid alias name")
        return ModelRef(name, alias=alias)
    if not version.isdigit() or int(version) < 1:
        raise RegistryError(f"model reference {text!r}: version {version!r} is not a number from 1; {forms}")
    return ModelRef(name, version=int(version))


def model_argument(text: str, default_name: str) -> str:
    """A ``--model`` value as the solver takes it: a bare version number ``3`` (when no folder is named
    so) becomes ``models:/<default_name>/3``; anything else is returned as given (a reference or a folder).
    """
    from pathlib import Path

    if text.isdigit() and not Path(text).exists():
        return str(parse_ref(text, default_name))
    return text
