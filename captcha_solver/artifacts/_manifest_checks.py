"""What a ``manifest.json`` document must hold, checked, and the migration of older format versions.

:func:`checked_document` is what :meth:`captcha_solver.artifacts.Manifest.from_dict`
runs before typing a document: the format version (newer ones are refused,
older ones migrated), the artifact names and (when asked) their files' sha256,
the keys each listed reader is built from and the kind of every known entry.
A broken manifest is reported naming the key ("lacks the key 'charset'"),
never later as a ``KeyError`` deep in a reader.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path

from captcha_solver.artifacts._errors import CorruptModelError, ModelFolderError
from captcha_solver.artifacts._provenance import sha256_file

__all__ = [
    "FORMAT_VERSION",
    "GLYPH_MODEL",
    "MANIFEST",
    "NEURAL_META",
    "NEURAL_MODEL",
    "checked_document",
    "json_kind",
]

MANIFEST = "manifest.json"
#: Version 2: the typed manifest; the legacy top-level ``routing`` threshold of version 1 lives in ``fusion``.
FORMAT_VERSION = 2
GLYPH_MODEL = "glyph_classifier.onnx"
NEURAL_MODEL = "neural_reader.onnx"
NEURAL_META = "neural_reader.json"

_NUMBER = "number"
# How each JSON kind is named in messages: the kind found, and (with _NUMBER) the kind expected.
_KINDS = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "true or false",
    type(None): "null",
    int: "a number",
    float: "a number",
    _NUMBER: "a number",
}
# The keys the classical reader is built from, and the JSON kind each must be.
_GLYPH_KEYS = {
    "charset": str,
    "class_columns": list,
    "segmentation": dict,
    "features": dict,
    "decoding": dict,
}
# Keys that are optional, and their kind when present.
_OPTIONAL_KEYS = {
    "reader": str,
    "fusion": dict,
    "labels": dict,
    "classifier": dict,
    "neural": dict,
    "monitoring": dict,
    "self_training": dict,
    "plan": dict,
    "metrics": dict,
    "verified": dict,
    "training_data": dict,
    "config": dict,
    "versions": dict,
    "created": str,
    "training_seconds": _NUMBER,
    "onnx_parity_max_abs_diff": _NUMBER,
}
_SECTION_KEYS = {
    "labels": {"charset": str},
    "classifier": {"chosen": str, "comparison": dict},
    "neural": {"metrics": dict, "history": list},
    "monitoring": {"baseline": dict},
    "self_training": {"folder": str, "target_precision": _NUMBER, "rounds": list},
}
_FUSION_NUMBERS = ("min_confidence", "weight_classical", "temperature")
_LENGTHS_ERROR = "manifest.json key 'labels.lengths' must map text lengths to counts, e.g. {\"5\": 825}"


def json_kind(value) -> str:
    """How a JSON value's kind is named in messages ("an array", "a string")."""
    return _KINDS.get(type(value), type(value).__name__)


def _is(value, kind) -> bool:
    if kind == _NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind)


def _check_kind(doc: Mapping, key: str, kind, model_dir: Path, name: str | None = None) -> None:
    if not _is(doc[key], kind):
        raise CorruptModelError(
            model_dir,
            f"manifest.json key '{name or key}' is {json_kind(doc[key])}, expected {_KINDS[kind]}",
        )


def _check_number(section: Mapping, name: str, key: str, model_dir: Path) -> None:
    value = section.get(key, 0.0)
    if not _is(value, _NUMBER) or value != value:  # NaN is no threshold, weight or temperature
        raise CorruptModelError(
            model_dir, f"manifest.json key '{name}.{key}' is {json_kind(value)}, expected a number"
        )


def _document(data, model_dir: Path) -> tuple[dict, int]:
    """A deep copy of the document and its format version, which this code reads."""
    if not isinstance(data, Mapping):
        raise CorruptModelError(
            model_dir,
            f"{MANIFEST} holds {json_kind(data)}, expected an object with format_version, artifacts, ...",
        )
    if "format_version" not in data:
        raise CorruptModelError(model_dir, f"{MANIFEST} lacks the key 'format_version'")
    version = data["format_version"]
    if type(version) is not int or not 1 <= version <= FORMAT_VERSION:
        raise ModelFolderError(
            f"{model_dir / MANIFEST}: format_version {version!r}, this solver reads version {FORMAT_VERSION} "
            f"(and migrates older ones)"
        )
    return copy.deepcopy(dict(data)), version


def _check_artifacts(doc: Mapping, model_dir: Path, check_files: bool) -> None:
    """Artifacts are file names with a sha256 (and, ``check_files``, files of the folder with that sha256)."""
    artifacts = doc.get("artifacts")
    if not isinstance(artifacts, dict):
        found = (
            f"key 'artifacts' is {json_kind(artifacts)}"
            if "artifacts" in doc
            else "lacks the key 'artifacts'"
        )
        raise CorruptModelError(model_dir, f"{MANIFEST} {found}, expected an object of file name -> sha256")
    for name, expected in artifacts.items():
        # A name such as "../x" would make the check (and the readers) open files outside the folder.
        if Path(name).name != name or name in ("", ".", ".."):
            raise CorruptModelError(
                model_dir, f"{MANIFEST} lists artifact {name!r}, which is not a file name"
            )
        if not isinstance(expected, str):
            raise CorruptModelError(
                model_dir,
                f"{MANIFEST} records {json_kind(expected)} as the sha256 of {name}, expected a hex string",
            )
        if check_files:
            _check_file(model_dir / name, expected, model_dir)


def _check_file(artifact: Path, expected: str, model_dir: Path) -> None:
    if not artifact.is_file():
        raise CorruptModelError(model_dir, f"{artifact}: listed in {MANIFEST} but missing")
    actual = sha256_file(artifact)
    if actual != expected:
        raise CorruptModelError(
            model_dir,
            f"{artifact}: sha256 {actual[:12]}... does not match the manifest's {expected[:12]}...; "
            f"the file changed after training. Retrain or restore the model folder.",
        )


def _check_glyph(doc: Mapping, model_dir: Path) -> None:
    for key, kind in _GLYPH_KEYS.items():
        if key not in doc:
            raise CorruptModelError(
                model_dir, f"manifest.json lacks the key '{key}' ({GLYPH_MODEL} needs it)"
            )
        _check_kind(doc, key, kind, model_dir)
    charset, columns = doc["charset"], doc["class_columns"]
    if not charset:
        raise CorruptModelError(model_dir, "manifest.json key 'charset' is empty")
    # Column c of the classifier's output is class c: a character of the charset, or garbage (the last class).
    bad = [c for c in columns if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= len(charset)]
    if bad or not columns:
        raise CorruptModelError(
            model_dir,
            f"manifest.json key 'class_columns' must list class indices 0..{len(charset)} "
            f"(the charset's {len(charset)} characters and garbage), found {bad[:5] or columns}",
        )


def _check_lengths(lengths, model_dir: Path) -> None:
    valid = isinstance(lengths, dict) and all(
        isinstance(n, str)
        and n.isascii()
        and n.isdigit()
        and isinstance(count, int)
        and not isinstance(count, bool)
        for n, count in lengths.items()
    )
    if not valid:
        raise CorruptModelError(model_dir, _LENGTHS_ERROR)


def _check_contents(doc: Mapping, model_dir: Path) -> None:
    """The readers the artifacts list have what they are built from; every known entry has its kind."""
    artifacts = doc["artifacts"]
    if GLYPH_MODEL not in artifacts and NEURAL_MODEL not in artifacts:
        raise CorruptModelError(model_dir, f"manifest.json lists no reader ({GLYPH_MODEL} or {NEURAL_MODEL})")
    if GLYPH_MODEL in artifacts:
        _check_glyph(doc, model_dir)
    if NEURAL_MODEL in artifacts and NEURAL_META not in artifacts:
        raise CorruptModelError(
            model_dir, f"manifest.json lists {NEURAL_MODEL} but not its metadata {NEURAL_META}"
        )
    for key, kind in _OPTIONAL_KEYS.items():
        if key in doc:
            _check_kind(doc, key, kind, model_dir)
    for key in _FUSION_NUMBERS:
        _check_number(doc.get("fusion", {}), "fusion", key, model_dir)
    for section, keys in _SECTION_KEYS.items():
        for key, kind in keys.items():
            if key in doc.get(section, {}):
                _check_kind(doc[section], key, kind, model_dir, f"{section}.{key}")
    if "lengths" in doc.get("labels", {}):
        _check_lengths(doc["labels"]["lengths"], model_dir)


# ------------------------------------------------------------------ versions
def _from_v1(doc: dict, model_dir: Path) -> dict:
    """Version 1 -> 2: the top-level ``routing.min_confidence`` (models fitted before the fusion) moves into ``fusion``.

    Only when ``fusion`` records no threshold (it took precedence already); the
    rest of ``routing`` (the figures of its fit) is kept as it was.
    """
    if "routing" not in doc:
        return doc
    _check_kind(doc, "routing", dict, model_dir)
    routing, fusion = doc["routing"], doc.get("fusion")
    _check_number(routing, "routing", "min_confidence", model_dir)
    if "min_confidence" in routing and (
        fusion is None or isinstance(fusion, dict) and "min_confidence" not in fusion
    ):
        doc["fusion"] = {**(fusion or {}), "min_confidence": routing.pop("min_confidence")}
        if not routing:
            del doc["routing"]
    return doc


# Migration from each old version to the next.
_MIGRATIONS = {1: _from_v1}


def checked_document(data, model_dir: Path, *, check_files: bool = False) -> dict:
    """A checked deep copy of a manifest document, migrated to :data:`FORMAT_VERSION`.

    Raises
    ------
    CorruptModelError
        If it is not an object, lacks a key or holds the wrong kind of value
        (the message names the key), lists no reader, or (``check_files``)
        an artifact is not a file of ``model_dir`` with its sha256.
    ModelFolderError
        If its format version is newer than this code (or unknown).
    """
    doc, version = _document(data, model_dir)
    _check_artifacts(doc, model_dir, check_files)
    for old in range(version, FORMAT_VERSION):
        doc = _MIGRATIONS[old](doc, model_dir)
    doc["format_version"] = FORMAT_VERSION
    _check_contents(doc, model_dir)
    return doc
