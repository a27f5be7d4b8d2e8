"""Inference: the exported CRNN on onnxruntime, CTC decoding in numpy.

No torch here: a deployment needs onnxruntime, numpy and OpenCV only.
Everything the reader needs (preprocessing, charset, calibration) comes
from ``neural_reader.json`` next to the ONNX file.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from captcha_solver.artifacts import NEURAL_META, NEURAL_MODEL
from captcha_solver.neural._arch import NeuralArch, output_length
from captcha_solver.neural._decode import beam_search, fold_case, greedy_decode, restrict_charset
from captcha_solver.neural._preprocess import preprocess_config, to_batch
from captcha_solver.read_result import ReadResult, check_case

__all__ = ["META_FORMAT", "META_NAME", "ONNX_NAME", "NeuralReader"]

#: Format of ``neural_reader.json``: 2 holds the architecture record alone; 1 (read too) also held training fields.
META_FORMAT = "neural_reader/2"
_READ_FORMATS = ("neural_reader/1", META_FORMAT)
# The artifact names are the model folder's (one definition, in artifacts).
ONNX_NAME = NEURAL_MODEL
META_NAME = NEURAL_META


class NeuralReader:
    """Read a captcha with an exported neural reader.

    Parameters
    ----------
    onnx_path : path
        ``neural_reader.onnx``.
    meta_path : path
        ``neural_reader.json`` written with it by :func:`neural.train_neural`.
    threads : int
        onnxruntime intra-op threads (1: one core per captcha, the service
        scales by processes).

    Raises
    ------
    FileNotFoundError
        If either file is missing.
    ValueError
        If the metadata is not a neural reader's (or not JSON), the ONNX
        file is not the one it was written with (sha256 mismatch), or
        onnxruntime cannot load it.
    """

    def __init__(self, onnx_path, meta_path, threads: int = 1):
        onnx_path, meta_path = Path(onnx_path), Path(meta_path)
        for p in (onnx_path, meta_path):
            if not p.is_file():
                raise FileNotFoundError(
                    f"neural reader file not found: {p} (train one with python -m captcha_solver.training.neural)"
                )
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except ValueError as exc:  # bad UTF-8 or bad JSON
            raise ValueError(f"{meta_path} is not valid JSON ({exc})") from exc
        if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
            raise ValueError(
                f"{meta_path} is not a neural reader's metadata (expected an object with a 'config' object)"
            )
        if meta.get("format") not in _READ_FORMATS:
            raise ValueError(
                f"{meta_path} has format {meta.get('format')!r}, expected one of {', '.join(_READ_FORMATS)}"
            )
        blob = onnx_path.read_bytes()
        digest = hashlib.sha256(blob).hexdigest()
        if meta.get("onnx_sha256") not in (None, digest):
            raise ValueError(
                f"{onnx_path} does not match {meta_path}: sha256 {digest[:12]}..., "
                f"expected {meta['onnx_sha256'][:12]}...; export them together"
            )
        self.config = NeuralArch.from_dict(meta["config"])
        if not self.config.charset:
            raise ValueError(f"{meta_path} has an empty charset: the model was never trained")
        self.meta = meta
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(blob, opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime's errors (InvalidProtobuf, Fail, ...) derive from Exception only
            raise ValueError(f"{onnx_path} is not a usable ONNX model ({exc})") from exc
        self._input = self._session.get_inputs()[0].name

    @property
    def charset(self) -> str:
        return self.config.charset

    def log_probs(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Per-frame log-probabilities of each image (no decoding).

        Parameters
        ----------
        images : list of (H, W, 3) ndarray of uint8

        Returns
        -------
        list of (T_i, C) ndarray of float32
            Padding frames of the batch are cut off.
        """
        return self.network([preprocess_config(im, self.config) for im in images])

    def network(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """:meth:`log_probs` of images already preprocessed (``neural.preprocess_config``).

        Parameters
        ----------
        arrays : list of (height, W_i) ndarray of float32

        Returns
        -------
        list of (T_i, C) ndarray of float32
        """
        batch, widths = to_batch(arrays, mean=self.config.mean, std=self.config.std)
        out = self._session.run(None, {self._input: batch})[0]
        return [
            out[i, : max(output_length(int(w), self.config.frame_stride), 1)] for i, w in enumerate(widths)
        ]

    @classmethod
    def from_dir(cls, model_dir, threads: int = 1) -> NeuralReader:
        """The reader of ``model_dir/neural_reader.onnx`` and ``model_dir/neural_reader.json``."""
        from pathlib import Path as _Path

        return cls(_Path(model_dir) / ONNX_NAME, _Path(model_dir) / META_NAME, threads=threads)

    def read(
        self,
        image: np.ndarray,
        *,
        topk: int = 0,
        allowed: str | None = None,
        case: str = "sensitive",
        lengths=None,
    ) -> ReadResult:
        """Read one captcha.

        Parameters
        ----------
        image : (H, W, 3) ndarray of uint8
            RGB captcha (``image_io.decode_image``); grey (H, W) works too.
        topk : int
            Also return the ``topk`` most likely texts (beam search); 0 skips it.
        allowed : str, optional
            Restrict the output to these characters (logits of the others
            are masked before decoding).
        case : {"sensitive", "lower", "upper"}
            "lower"/"upper" merge both cases of each letter before decoding
            and answer in that case (for sites that ignore case).
        lengths : collection of int, optional
            Text lengths a reading may have (default: every length from the
            shortest to the longest training label).

        Returns
        -------
        ReadResult
            ``reader="neural"``: the greedy CTC reading, or, when its length
            is not allowed, the most likely text of an allowed length (beam
            search); ``char_confidences`` per character is the highest
            probability of the frames that emitted it; ``confidence`` is
            ``prod(char_confidences) ** calibration_power`` (power fitted on
            validation so that it matches the accuracy), 0 for an empty
            reading or one of a length no training label had; ``topk`` the
            ``topk`` most likely texts of allowed lengths (prefix beam search).

        Raises
        ------
        ValueError
            If the image is not a uint8 array, ``topk < 0``, or ``allowed``
            shares no character with the charset.
        """
        return self.analyse(image, topk=topk, allowed=allowed, case=case, lengths=lengths)[0]

    def allowed_lengths(self, lengths=None) -> frozenset[int]:
        """``lengths``, or every length from the shortest to the longest training label."""
        if lengths:
            return frozenset(int(n) for n in lengths)
        return frozenset(range(self.config.min_length, self.config.max_length + 1))

    def analyse(
        self,
        image: np.ndarray,
        *,
        topk: int = 0,
        allowed: str | None = None,
        case: str = "sensitive",
        lengths=None,
    ) -> tuple[ReadResult, np.ndarray]:
        """:meth:`read`, and the per-frame log-probabilities it decoded (after ``allowed`` and ``case``).

        The fused reader scores other readers' texts with them
        (:func:`captcha_solver.fusion.ctc_log_likelihood`).
        """
        if topk < 0:
            raise ValueError(f"topk must be >= 0, got {topk}")
        check_case(case)
        ok = self.allowed_lengths(lengths)
        t0 = time.perf_counter()
        x = preprocess_config(image, self.config)
        batch, _ = to_batch([x], mean=self.config.mean, std=self.config.std)
        t1 = time.perf_counter()
        lp = self._session.run(None, {self._input: batch})[0][0]
        t2 = time.perf_counter()
        if allowed is not None:
            lp = restrict_charset(lp, self.charset, allowed)
        if case != "sensitive":
            lp = fold_case(lp, self.charset, case)
        text, confs = greedy_decode(lp, self.charset)
        confidence = self.sequence_confidence(text, confs) if len(text) in ok else 0.0
        alternatives = []
        if topk or len(text) not in ok:
            # Beam search only when asked for alternatives or when the best path
            # has a length no captcha of this style has (then the most likely
            # text of an allowed length is the reading).
            beams = [
                b for b in beam_search(lp, self.charset, k=max(topk, 10), beam_width=16) if len(b[0]) in ok
            ]
            alternatives = beams[:topk]
            if len(text) not in ok and beams:
                text, p = beams[0]
                confs = [float(p) ** (1.0 / len(text))] * len(text)
                confidence = float(p) ** self.config.calibration_power
        t3 = time.perf_counter()
        timings = {
            "preprocess": (t1 - t0) * 1e3,
            "network": (t2 - t1) * 1e3,
            "decode": (t3 - t2) * 1e3,
            "total": (t3 - t0) * 1e3,
        }
        result = ReadResult(
            text, confidence, tuple(confs), "neural", topk=tuple(alternatives), timings_ms=timings
        )
        return result, lp

    def sequence_confidence(self, text: str, char_confidences: list[float]) -> float:
        """Calibrated confidence of a reading (see :meth:`read`)."""
        cfg = self.config
        if not text or not cfg.min_length <= len(text) <= cfg.max_length:
            return 0.0
        return float(np.prod(char_confidences) ** cfg.calibration_power)
