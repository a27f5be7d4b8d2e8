"""Neural reader: a compact CRNN trained with CTC, exported to ONNX.

Training (``train_neural``, ``python -m captcha_solver.neural.train``) needs torch; the
reader (``NeuralReader``) needs only onnxruntime, numpy and OpenCV, so
importing this package does not import torch.

Example
-------
Train on a folder of ``<label>.png`` captchas, then read one::

    from captcha_solver.image_io import decode_image, list_images
    from captcha_solver.neural import NeuralConfig, NeuralReader, train_neural

    paths, _ = list_images("data/train")
    metrics = train_neural(paths, config=NeuralConfig(epochs=20), out_dir="model_neural")
    reader = NeuralReader.from_dir("model_neural")
    result = reader.read(decode_image("captcha.png"), topk=3)
    result.text, result.confidence, result.topk

``model_neural/`` then holds ``neural_reader.onnx`` and ``neural_reader.json``
(config with charset, lengths, crop window, ink scale, calibration; the
ONNX file's sha256; validation metrics), which is all inference needs.
"""

from captcha_solver.neural._config import BLANK, NeuralConfig, config_from_settings
from captcha_solver.neural._decode import beam_search, fold_case, greedy_decode, restrict_charset
from captcha_solver.neural._preprocess import (
    crop_window,
    ink_box,
    preprocess,
    preprocess_config,
    text_grey,
    text_window,
    to_batch,
)
from captcha_solver.neural._reader import META_NAME, ONNX_NAME, NeuralReader

__all__ = [
    "BLANK",
    "META_NAME",
    "ONNX_NAME",
    "NeuralConfig",
    "NeuralReader",
    "config_from_settings",
    "beam_search",
    "crop_window",
    "fold_case",
    "greedy_decode",
    "ink_box",
    "preprocess",
    "preprocess_config",
    "restrict_charset",
    "text_grey",
    "text_window",
    "to_batch",
    "train_neural",
]


def __getattr__(name):
    # Lazy: only training pulls in torch.
    if name == "train_neural":
        from captcha_solver.neural._train import train_neural

        return train_neural
    raise AttributeError(f"module 'neural' has no attribute {name!r}")
