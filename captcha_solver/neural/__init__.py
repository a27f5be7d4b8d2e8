"""The neural reader at reading time: a compact CRNN exported to ONNX, CTC decoding in numpy.

Needs only onnxruntime, numpy and OpenCV; training it is the training
wing's job (:func:`captcha_solver.training.train_neural`). A model folder's
``neural_reader.onnx`` and ``neural_reader.json`` (the architecture record
:class:`NeuralArch` with charset, lengths, crop window, ink scale,
calibration; the ONNX file's sha256) are all inference needs::

    from captcha_solver.image_io import decode_image
    from captcha_solver.neural import NeuralReader

    reader = NeuralReader.from_dir("model")
    result = reader.read(decode_image("captcha.png"), topk=3)
    result.text, result.confidence, result.topk
"""

from captcha_solver.neural._arch import BLANK, LEGACY_TRAINING_KEYS, NeuralArch, output_length
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
from captcha_solver.neural._reader import META_FORMAT, META_NAME, ONNX_NAME, NeuralReader

__all__ = [
    "BLANK",
    "LEGACY_TRAINING_KEYS",
    "META_FORMAT",
    "META_NAME",
    "ONNX_NAME",
    "NeuralArch",
    "NeuralReader",
    "beam_search",
    "crop_window",
    "fold_case",
    "greedy_decode",
    "ink_box",
    "output_length",
    "preprocess",
    "preprocess_config",
    "restrict_charset",
    "text_grey",
    "text_window",
    "to_batch",
]
