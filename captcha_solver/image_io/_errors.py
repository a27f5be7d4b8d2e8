"""Error types of image reading."""

from __future__ import annotations

__all__ = ["EmptyDatasetError", "ImageDecodeError"]


class ImageDecodeError(ValueError):
    """An image file or buffer cannot be (safely) decoded.

    The message starts with the file name (or the ``name`` given to
    :func:`decode_image`, or ``"<bytes>"``) followed by the reason, e.g.
    ``"bad.png: empty file (0 bytes)"``.

    Attributes
    ----------
    name : str
        The file name (or given name) the message starts with.
    reason : str
        The message without the name.
    """

    def __init__(self, name: str, reason: str):
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {reason}")


class EmptyDatasetError(ValueError):
    """A dataset folder holds no image candidates and nothing to report as rejected."""
