"""What a manifest must hold for each reader it lists.

:func:`artifacts.load_manifest` checks the digests of the files; this module
checks that the keys the readers are built from are there and of the right
kind, so an edited or truncated manifest is reported as such ("lacks the key
'charset'") instead of failing later with a ``KeyError`` deep in a reader.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from captcha_solver.artifacts._errors import CorruptModelError

__all__ = ["GLYPH_MODEL", "NEURAL_META", "NEURAL_MODEL", "check_contents", "json_kind"]

GLYPH_MODEL = "glyph_classifier.onnx"
NEURAL_MODEL = "neural_reader.onnx"
NEURAL_META = "neural_reader.json"

# The keys the classical reader is built from, and the JSON kind each must be.
_GLYPH_KEYS = {
    "charset": str,
    "class_columns": list,
    "segmentation": dict,
    "features": dict,
    "decoding": dict,
}
# Keys that are optional but read at prediction time when present.
_OPTIONAL_KEYS = {"routing": dict, "fusion": dict, "labels": dict, "reader": str}
_KINDS = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "true or false",
    type(None): "null",
    int: "a number",
    float: "a number",
}


def json_kind(value) -> str:
    """How a JSON value's kind is named in messages ("an array", "a string")."""
    return _KINDS.get(type(value), type(value).__name__)


def _require(manifest: Mapping, key: str, kind: type, model_dir: Path, needed_by: str) -> None:
    if key not in manifest:
        raise CorruptModelError(model_dir, f"manifest.json lacks the key '{key}' ({needed_by} needs it)")
    if not isinstance(manifest[key], kind):
        raise CorruptModelError(
            model_dir, f"manifest.json key '{key}' is {json_kind(manifest[key])}, expected {_KINDS[kind]}"
        )


def check_contents(manifest: Mapping, model_dir: str | Path) -> None:
    """Check that ``manifest`` holds what the readers it lists are built from.

    Parameters
    ----------
    manifest : mapping
        A manifest whose ``artifacts`` mapping was already checked.
    model_dir : path
        The folder, for messages.

    Raises
    ------
    CorruptModelError
        If no reader is listed, a key a listed reader needs is missing or of
        the wrong kind, a class column is outside the charset, or the neural
        reader's metadata file is not listed next to its ONNX file.
    """
    model_dir = Path(model_dir)
    artifacts = manifest["artifacts"]
    if GLYPH_MODEL not in artifacts and NEURAL_MODEL not in artifacts:
        raise CorruptModelError(model_dir, f"manifest.json lists no reader ({GLYPH_MODEL} or {NEURAL_MODEL})")
    if GLYPH_MODEL in artifacts:
        for key, kind in _GLYPH_KEYS.items():
            _require(manifest, key, kind, model_dir, GLYPH_MODEL)
        charset, columns = manifest["charset"], manifest["class_columns"]
        if not charset:
            raise CorruptModelError(model_dir, "manifest.json key 'charset' is empty")
        # Column c of the classifier's output is class c: a character of the charset, or garbage (the last class).
        bad = [
            c for c in columns if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= len(charset)
        ]
        if bad or not columns:
            raise CorruptModelError(
                model_dir,
                f"manifest.json key 'class_columns' must list class indices 0..{len(charset)} "
                f"(the charset's {len(charset)} characters and garbage), found {bad[:5] or columns}",
            )
    if NEURAL_MODEL in artifacts and NEURAL_META not in artifacts:
        raise CorruptModelError(
            model_dir, f"manifest.json lists {NEURAL_MODEL} but not its metadata {NEURAL_META}"
        )
    for key, kind in _OPTIONAL_KEYS.items():
        if key in manifest:
            _require(manifest, key, kind, model_dir, "prediction")
    for section, key in (
        ("routing", "min_confidence"),
        ("fusion", "min_confidence"),
        ("fusion", "weight_classical"),
        ("fusion", "temperature"),
    ):
        value = manifest.get(section, {}).get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise CorruptModelError(
                model_dir, f"manifest.json key '{section}.{key}' is {json_kind(value)}, expected a number"
            )
    lengths = manifest.get("labels", {}).get("lengths", {})
    if not isinstance(lengths, dict) or not all(str(k).isdigit() for k in lengths):
        raise CorruptModelError(
            model_dir, "manifest.json key 'labels.lengths' must map text lengths to counts, e.g. {\"5\": 825}"
        )
