"""Uploads as the API reads them: checked from their header, decoded within the limits, read by the model.

:class:`UploadReader` is the API's one use of the solver: it refuses what
the image header already condemns, decodes the rest within
:class:`UploadLimits`, reads it with the loaded model, and gives every
refused upload its results row.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass

from captcha_solver.common import ResultsLog
from captcha_solver.image_io import ImageDecodeError, ImageHeader, decode_image, probe_image
from captcha_solver.read_result import api_row, csv_row, error_row
from captcha_solver.serving._errors import ApiError, decode_error
from captcha_solver.settings import Config
from captcha_solver.solver import My_CaptchaSolver_Model

__all__ = ["BYTES_PER_PIXEL", "UploadLimits", "UploadReader"]

#: Peak memory of decoding and reading one image, per pixel of its header. Measured as the RSS
#: growth of decode + predict on 2000 x 2000 images: 18-24 B/px for PNG and JPEG files under the
#: 2 MiB upload limit (1-bit, 16-bit RGBA, blocky noise), 40 B/px for a 12 MB PNG of RGB noise.
BYTES_PER_PIXEL = 40


@dataclass(frozen=True)
class UploadLimits:
    """The decoding limits of an upload (the ``limits`` of :func:`captcha_solver.image_io.decode_image`).

    Attributes
    ----------
    max_pixels : int
        ``input.max_pixels``.
    max_bytes : int
        The smaller of ``input.max_bytes`` and ``serving.max_upload_bytes``.
    """

    max_pixels: int
    max_bytes: int

    @classmethod
    def from_config(cls, config: Config) -> UploadLimits:
        return cls(
            max_pixels=config.input.max_pixels,
            max_bytes=min(config.input.max_bytes, config.serving.max_upload_bytes),
        )


def _b64decode(text: str, name: str) -> bytes:
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, "bad_base64", f"{name}: image_base64 is not valid base64 ({exc})") from None


class UploadReader:
    """Check, decode and read uploads with one loaded model, shared by all requests.

    Every method is thread-safe; :meth:`check` and :meth:`read` run in worker
    threads. A refused upload is logged and written to results.csv as an
    ``error`` row before its :class:`ApiError` is raised. Started on a registry
    alias, :meth:`follow` swaps :attr:`solver` when the alias moves; a request
    takes the solver once, so it finishes on the model it started with.

    Parameters
    ----------
    model_dir : path, str or None
        Model folder or registry reference (None: the default folder).
    config : Config

    Attributes
    ----------
    solver : My_CaptchaSolver_Model
        The loaded model, its logger and its results.csv (replaced whole by a swap).
    follower : registry.AliasFollower or None
        Set by :meth:`follow` when the model is a registry alias.
    config : Config
    limits : UploadLimits
    results : ResultsLog
    """

    def __init__(self, model_dir, config: Config):
        self.solver = My_CaptchaSolver_Model(model_dir=model_dir, config=config).load()
        self.config = config
        self.limits = UploadLimits.from_config(config)
        self.results = ResultsLog(self.solver.results_csv)
        self.follower = None

    def follow(self, metrics=None) -> None:
        """Export the serving version to ``metrics`` and, on a registry alias, follow it (poll, load, swap)."""

        def swap(solver: My_CaptchaSolver_Model) -> None:
            old, self.solver = self.solver, solver  # the one swap: requests take self.solver once
            if metrics is not None:
                metrics.set_model_version(solver.model_version, old.model_version)

        def failed(version: int, exc: Exception) -> None:
            if metrics is not None:
                metrics.model_swap_failures.inc()

        if metrics is not None:
            metrics.set_model_version(self.solver.model_version)
        self.follower = self.solver.follow(swap, on_failure=failed)

    def close(self) -> None:
        """Stop following the alias (if it was)."""
        if self.follower is not None:
            self.follower.stop()

    def _refuse(self, exc: ImageDecodeError, name: str, started: float) -> ApiError:
        error = decode_error(exc)
        self.refused(name, error, started)
        return error

    def refused(self, name: str, error: ApiError, started: float | None = None) -> None:
        """Log an upload that is not read and give it its results row (status ``error``)."""
        self.solver.logger.warning("refused upload %s (%d): %s", name, error.status, error.detail)
        latency = 0.0 if started is None else (time.perf_counter() - started) * 1e3
        self.results.append(csv_row(error_row(name, error.detail, latency_ms=latency)))

    def check(self, payload: bytes | str, name: str) -> tuple[bytes, ImageHeader]:
        """The upload's bytes (base64 text decoded) and header, after every check that needs no decoding.

        Cheap whatever the image claims to be: a decompression bomb is refused
        here, from its header, before any memory is reserved for it.

        Raises
        ------
        ApiError
            400 for bad base64; else the status of :func:`captcha_solver.serving._errors.decode_error`,
            after a results row and a log line for the refused upload.
        """
        started = time.perf_counter()
        data = _b64decode(payload, name) if isinstance(payload, str) else payload
        max_upload = self.config.serving.max_upload_bytes
        try:
            if len(data) > max_upload:
                raise ImageDecodeError(
                    name,
                    f"upload is {len(data)} bytes, over the limit of {max_upload} (serving.max_upload_bytes)",
                )
            header = probe_image(data, limits=self.limits, name=name)
        except ImageDecodeError as exc:
            raise self._refuse(exc, name, started) from None
        return data, header

    def read(self, data: bytes, name: str) -> dict:
        """Decode and read one upload that passed :meth:`check`; the answer's JSON fields.

        Raises
        ------
        ApiError
            If the decoder refuses the data (after a results row and a log line).
        """
        started = time.perf_counter()
        solver = self.solver  # once: a swap meanwhile does not change the model of this request
        try:
            rgb = decode_image(data, limits=self.limits, name=name)
        except ImageDecodeError as exc:
            raise self._refuse(exc, name, started) from None
        row = solver.predict_row(rgb, name=name)
        row["latency_ms"] = (time.perf_counter() - started) * 1e3
        solver.logger.info(
            "predict %s: %r (confidence %.3f, %s) in %.1f ms",
            name,
            row["prediction"],
            row["confidence"],
            row["status"],
            row["latency_ms"],
        )
        return dict(api_row(row), model_version=solver.model_version)
