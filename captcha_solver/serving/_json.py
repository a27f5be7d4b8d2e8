"""JSON request bodies parsed with bounded depth and a bounded number of values.

``json.loads`` recurses once per nesting level (a 100,000-deep array raises
``RecursionError``) and builds every value before anyone can look at the
count (a 16 MB body of ``[[],[],...]`` makes five million lists). The API's
bodies are small, shallow objects, so this parser walks the text with an
explicit stack and stops at the first level or value over the limits.
Strings, where the bytes of a body are (base64 images), are read by the
``json`` module's own C scanner.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring
from typing import Any

__all__ = ["JsonLimitError", "loads_bounded"]

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?")
# What json.loads accepts besides numbers and strings (NaN and the infinities included).
_CONSTANTS = (
    ("true", True),
    ("false", False),
    ("null", None),
    ("NaN", float("nan")),
    ("Infinity", float("inf")),
    ("-Infinity", float("-inf")),
)


class JsonLimitError(ValueError):
    """The body is valid JSON so far but nests deeper, or holds more values, than allowed.

    Attributes
    ----------
    kind : str
        ``"depth"`` or ``"values"``.
    limit : int
        The limit that was crossed.
    """

    def __init__(self, kind: str, limit: int, pos: int):
        self.kind, self.limit, self.pos = kind, limit, pos
        if kind == "depth":
            what = f"nests arrays and objects deeper than {limit} levels"
        else:
            what = f"holds more than {limit} values"
        super().__init__(f"the JSON {what} (at character {pos})")


def _error(message: str, text: str, pos: int) -> json.JSONDecodeError:
    return json.JSONDecodeError(message, text, pos)


def _skip(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()


def _key(text: str, pos: int) -> tuple[str, int]:
    """Read ``"key" :`` at ``pos`` (after whitespace); return the key and the position after the colon."""
    if text[pos : pos + 1] != '"':
        raise _error("Expecting property name enclosed in double quotes", text, pos)
    key, pos = scanstring(text, pos + 1, True)
    pos = _skip(text, pos)
    if text[pos : pos + 1] != ":":
        raise _error("Expecting ':' delimiter", text, pos)
    return key, _skip(text, pos + 1)


def _scalar(text: str, pos: int) -> tuple[Any, int]:
    """Read a string, number or constant at ``pos``."""
    char = text[pos : pos + 1]
    if char == '"':
        return scanstring(text, pos + 1, True)
    for word, value in _CONSTANTS:
        if text.startswith(word, pos):
            return value, pos + len(word)
    match = _NUMBER.match(text, pos)
    if match is None:
        raise _error("Expecting value", text, pos)
    integer, fraction, exponent = match.groups()
    try:
        value = float(integer + (fraction or "") + (exponent or "")) if fraction or exponent else int(integer)
    except ValueError as exc:  # e.g. an integer over Python's 4300-digit conversion limit
        raise _error(f"Number not representable ({exc})", text, pos) from None
    return value, match.end()


def loads_bounded(data: bytes | bytearray | str, *, max_depth: int, max_values: int) -> Any:
    """Parse a JSON document as ``json.loads`` does, within limits.

    Parameters
    ----------
    data : bytes, bytearray or str
        The document; bytes in UTF-8, UTF-16 or UTF-32 (detected as ``json.loads`` does).
    max_depth : int
        Most nested arrays and objects (``[]`` has depth 1, ``[[]]`` depth 2).
    max_values : int
        Most values of any kind (containers, strings, numbers, constants; object keys not counted).

    Returns
    -------
    value : dict, list, str, int, float, bool or None

    Raises
    ------
    json.JSONDecodeError
        If the text is not JSON, with the position, as ``json.loads`` raises it.
    JsonLimitError
        As soon as a container opens past ``max_depth`` or a value past ``max_values``.
    UnicodeDecodeError
        If bytes are not valid in the detected encoding.
    """
    text = data if isinstance(data, str) else bytes(data).decode(json.detect_encoding(data), "surrogatepass")
    if text.startswith("\ufeff"):
        raise _error("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    stack: list[list] = []  # [container, key of the value being read (objects only)]
    values = 0
    pos = _skip(text, 0)
    while True:
        # A value starts at pos.
        values += 1
        if values > max_values:
            raise JsonLimitError("values", max_values, pos)
        char = text[pos : pos + 1]
        if char in ("{", "["):
            if len(stack) >= max_depth:
                raise JsonLimitError("depth", max_depth, pos)
            pos = _skip(text, pos + 1)
            closing = "}" if char == "{" else "]"
            container: Any = {} if char == "{" else []
            if text[pos : pos + 1] != closing:
                key = None
                if char == "{":
                    key, pos = _key(text, pos)
                stack.append([container, key])
                continue
            value, pos = container, pos + 1
        else:
            value, pos = _scalar(text, pos)
        # A value ended at pos: store it, then close every container that ends here.
        while True:
            if not stack:
                end = _skip(text, pos)
                if end != len(text):
                    raise _error("Extra data", text, end)
                return value
            frame = stack[-1]
            container, key = frame
            if isinstance(container, dict):
                container[key] = value
            else:
                container.append(value)
            pos = _skip(text, pos)
            char = text[pos : pos + 1]
            if char == ",":
                pos = _skip(text, pos + 1)
                if isinstance(container, dict):
                    frame[1], pos = _key(text, pos)
                break
            if char == ("}" if isinstance(container, dict) else "]"):
                stack.pop()
                value, pos = container, pos + 1
                continue
            raise _error("Expecting ',' delimiter", text, pos)
