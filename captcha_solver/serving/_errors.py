"""API errors: one JSON shape for every 4xx/5xx, and the mapping from image errors to HTTP statuses."""

from __future__ import annotations

from captcha_solver.image_io import ImageDecodeError

__all__ = ["ApiError", "decode_error"]


class ApiError(Exception):
    """An error answered as ``{"error": code, "detail": message}`` with an HTTP status.

    Parameters
    ----------
    status : int
        HTTP status (4xx for the client's mistakes).
    code : str
        Stable machine-readable name, e.g. ``"not_an_image"``.
    detail : str
        What was wrong and what is expected, for a human.
    """

    def __init__(self, status: int, code: str, detail: str):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail

    def body(self) -> dict:
        return {"error": self.code, "detail": self.detail}


def decode_error(exc: ImageDecodeError) -> ApiError:
    """The HTTP answer for an image that ``image_io.decode_image`` refused.

    ``ImageDecodeError`` carries its reason as text; the limits name their
    config key in it, which is what the status is chosen by.
    """
    reason = exc.reason
    if reason.startswith("empty file"):
        return ApiError(400, "empty_image", str(exc))
    if "(input.max_bytes)" in reason or "(serving.max_upload_bytes)" in reason:
        return ApiError(413, "image_too_large", str(exc))
    if "(input.max_pixels)" in reason:
        # Checked from the header before decoding: decompression bombs end here.
        return ApiError(413, "too_many_pixels", str(exc))
    if reason.startswith("not a "):
        return ApiError(415, "not_an_image", str(exc))
    # Truncated, corrupt, too small, unsupported variant: the bytes are an image format we read, but unusable.
    return ApiError(422, "undecodable_image", str(exc))
