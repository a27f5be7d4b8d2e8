"""One escaping scheme for file names and other user text in the CSV, the log and the console.

A file name may hold any byte but ``/`` and NUL: newlines and carriage
returns would split a CSV row or forge a log line, tabs would shift the
columns of the CLI's output, and bytes that are not UTF-8 (kept by Python as
lone surrogates, ``os.fsdecode``'s *surrogateescape*) cannot be written to a
UTF-8 file at all. :func:`escape_text` turns such text into printable text on
one line, and :func:`unescape_text` gives the original back exactly:

============================================  ==========================
found in the text                              written as
============================================  ==========================
``\\`` (backslash)                              ``\\\\``
newline, carriage return, tab                  ``\\n``, ``\\r``, ``\\t``
other control characters (U+0000-001F, DEL)   ``\\xNN`` (``\\x00``-``\\x7f``)
a byte that is not UTF-8 (0x80-0xFF)           ``\\xNN`` (``\\x80``-``\\xff``)
C1 controls, U+2028/2029 line separators,      ``\\uNNNN``
bidirectional overrides, other lone
surrogates
============================================  ==========================

``\\xNN`` is unambiguous: below 0x80 it is a control character, from 0x80 up a
raw byte (no character U+0080-U+00FF is written as ``\\xNN``; the C1 controls
among them use ``\\uNNNN``, the others are kept as they are). Everything else,
letters of any script included, is kept as it is.

The CSV also needs formula neutralising: spreadsheet tools run a cell that
starts with ``=``, ``+``, ``-`` or ``@`` as a formula (``=cmd|' /C calc'!A0``).
:func:`neutralise_formula` prefixes such a cell with ``'``, as OWASP
recommends, and :func:`restore_formula` removes that prefix again.
"""

from __future__ import annotations

import os
import re

__all__ = ["FORMULA_PREFIXES", "escape_text", "neutralise_formula", "restore_formula", "unescape_text"]

#: First characters that make a spreadsheet cell a formula (OWASP's list; tab and
#: carriage return are escaped before this is asked), plus ``'`` itself so that
#: the prefix can always be told from a quote that was in the text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "'")

_NAMED = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# What is escaped: controls, line/paragraph separators, bidi controls, surrogates.
_UNSAFE = re.compile("[\\\\\x00-\x1f\x7f\x80-\x9f\u2028\u2029" + _BIDI + "\ud800-\udfff]")
_ESCAPE = re.compile(r"\\(?:([\\nrt])|x([0-9a-f]{2})|u([0-9a-f]{4})|(.?))", re.DOTALL)
_UNNAMED = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}


def _escape_one(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x80:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte surrogateescape could not decode
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def escape_text(text: str | bytes | os.PathLike) -> str:
    """Text (a file name, a path, an error message) as printable text on one line.

    Parameters
    ----------
    text : str, bytes or PathLike
        Bytes and paths are decoded as the file system does (``os.fsdecode``:
        UTF-8, undecodable bytes kept as surrogates).

    Returns
    -------
    escaped : str
        Holds no control character, line separator or surrogate, so it can be
        written to a UTF-8 file and printed; :func:`unescape_text` inverts it.
        Text without backslashes or such characters comes back unchanged.

    Examples
    --------
    >>> escape_text(b"a\\nb\\xff.png")
    'a\\\\nb\\\\xff.png'
    """
    if not isinstance(text, str):
        text = os.fsdecode(text)
    return _UNSAFE.sub(_escape_one, text)


def _unescape_one(match: re.Match) -> str:
    named, byte, code, other = match.groups()
    if named is not None:
        return _UNNAMED[named]
    if byte is not None:
        value = int(byte, 16)
        return chr(value) if value < 0x80 else chr(0xDC00 + value)
    if code is not None:
        return chr(int(code, 16))
    raise ValueError(
        f"invalid escape {match.group()!r} at position {match.start()}: expected \\\\, \\n, \\r, \\t, "
        "\\xNN or \\uNNNN (lower-case hex)"
    )


def unescape_text(text: str) -> str:
    """The original text of :func:`escape_text`'s output.

    Parameters
    ----------
    text : str
        Escaped text, e.g. a ``file`` or ``error`` cell of results.csv
        (after :func:`restore_formula`).

    Returns
    -------
    original : str
        Undecodable bytes come back as surrogates: ``os.fsencode(original)``
        gives the file name's bytes.

    Raises
    ------
    ValueError
        If ``text`` holds a backslash that does not start one of the escapes
        above (it was not written by :func:`escape_text`).
    """
    if "\\" not in text:
        return text
    return _ESCAPE.sub(_unescape_one, text)


def neutralise_formula(cell: str) -> str:
    """``cell`` prefixed with ``'`` if a spreadsheet would read it as a formula.

    Parameters
    ----------
    cell : str
        An escaped text cell (a name, an error, a prediction).

    Returns
    -------
    cell : str
        ``"'" + cell`` if it starts with one of :data:`FORMULA_PREFIXES`, else
        ``cell`` unchanged.
    """
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def restore_formula(cell: str) -> str:
    """Undo :func:`neutralise_formula`: drop the leading ``'`` it added."""
    return cell[1:] if cell.startswith("'") else cell
