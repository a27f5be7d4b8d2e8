"""The configuration error type."""

from __future__ import annotations

__all__ = ["ConfigError"]


def format_value(value) -> str:
    """Show a config value the way it would be written in YAML-ish Python (tuples as lists)."""
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


class ConfigError(ValueError):
    """A configuration file, override or value is invalid.

    Parameters
    ----------
    message : str
        What is wrong, naming the dotted key, the value and what is allowed.
    source : str, optional
        The file (or ``"overrides"``) the value came from; prefixed to the message.

    Attributes
    ----------
    key : str or None
        Dotted key of the offending value, when there is one.
    source : str or None
    """

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None):
        self.reason = message
        self.key = key
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)

    @classmethod
    def invalid(cls, key: str, value, expected: str, *, source: str | None = None) -> ConfigError:
        """Build the standard "<key> = <value> is invalid: expected <what>" error."""
        return cls(f"{key} = {format_value(value)} is invalid: expected {expected}", key=key, source=source)

    def with_source(self, source: str) -> ConfigError:
        """Return the same error with ``source`` (a file name or ``"overrides"``) attached."""
        if self.source:
            return self
        return type(self)(self.reason, key=self.key, source=source)
