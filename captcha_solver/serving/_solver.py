"""The loaded model as the API uses it: check an upload from its header, then decode and read it."""

from __future__ import annotations

import base64
import binascii
import time

from captcha_solver.common import ResultsLog
from captcha_solver.image_io import ImageDecodeError, ImageHeader, decode_image, probe_image
from captcha_solver.reading import api_row, csv_row, error_row
from captcha_solver.serving._errors import ApiError, decode_error
from captcha_solver.settings import Config
from captcha_solver.solver import My_CaptchaSolver_Model

__all__ = ["BYTES_PER_PIXEL", "Solver"]

#: Peak memory of decoding and reading one image, per pixel of its header. Measured as the RSS
#: growth of decode + predict on 2000 x 2000 images: 18-24 B/px for PNG and JPEG files under the
#: 2 MiB upload limit (1-bit, 16-bit RGBA, blocky noise), 40 B/px for a 12 MB PNG of RGB noise.
BYTES_PER_PIXEL = 40


def _b64decode(text: str, name: str) -> bytes:
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, "bad_base64", f"{name}: image_base64 is not valid base64 ({exc})") from None


class Solver:
    """The loaded model, shared by all requests (both methods are thread-safe and run in worker threads).

    Parameters
    ----------
    model_dir : path or None
        Model folder (None: the default one).
    config : Config
    """

    def __init__(self, model_dir, config: Config):
        self.model = My_CaptchaSolver_Model(model_dir=model_dir, config=config).load()
        self.config = config
        self.results = ResultsLog(self.model.results_csv)

    def _limits(self) -> dict:
        cfg = self.config
        return {
            "max_pixels": cfg.input.max_pixels,
            "max_bytes": min(cfg.input.max_bytes, cfg.serving.max_upload_bytes),
        }

    def _refuse(self, exc: ImageDecodeError, name: str, started: float) -> ApiError:
        error = decode_error(exc)
        self.refused(name, error, started)
        return error

    def refused(self, name: str, error: ApiError, started: float | None = None) -> None:
        """Log an upload that is not read and give it its results row (status ``error``)."""
        self.model.logger.warning("refused upload %s (%d): %s", name, error.status, error.detail)
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
            header = probe_image(data, name=name, **self._limits())
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
        try:
            rgb = decode_image(data, name=name, **self._limits())
        except ImageDecodeError as exc:
            raise self._refuse(exc, name, started) from None
        row = self.model.predict(rgb, name=name)
        row["latency_ms"] = (time.perf_counter() - started) * 1e3
        self.model.logger.info(
            "predict %s: %r (confidence %.3f, %s) in %.1f ms",
            name,
            row["prediction"],
            row["confidence"],
            row["status"],
            row["latency_ms"],
        )
        return api_row(row)
