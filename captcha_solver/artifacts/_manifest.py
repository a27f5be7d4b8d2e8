"""The model folder's ``manifest.json`` as a typed, checked :class:`Manifest`: load, save, migrate.

The manifest records everything inference needs (charset, segmentation,
feature and decoding settings, which class each output column is, the fitted
fusion, the training labels' lengths) and how the model came to be (metrics,
plan, training-data hash, package versions). The sha256 of every artifact is
checked at load, so a corrupted or swapped file is refused instead of silently
predicting nonsense; an edited or truncated manifest is reported as such
("lacks the key 'charset'") instead of failing later deep in a reader.

This module is the only place the JSON layout is known: everything else reads
the typed fields (``manifest.glyph.charset``, ``manifest.fusion.weight_classical``).
The layout stays flat and the same across versions (the classical reader's
settings at the top level); a folder of an older format version is migrated in
memory when read, and written back in the current version only when updated.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from captcha_solver.artifacts._errors import CorruptModelError, ModelFolderError, ModelNotFoundError
from captcha_solver.artifacts._manifest_checks import (
    FORMAT_VERSION,
    GLYPH_MODEL,
    MANIFEST,
    NEURAL_META,
    NEURAL_MODEL,
    checked_document,
)
from captcha_solver.artifacts._provenance import dataset_hash, package_versions, sha256_file
from captcha_solver.artifacts._sections import (
    Classifier,
    Fusion,
    GlyphSection,
    Labels,
    Monitoring,
    NeuralRecord,
    SelfTraining,
    _Section,
)
from captcha_solver.common import atomic_write_text

__all__ = [
    "FORMAT_VERSION",
    "GLYPH_MODEL",
    "MANIFEST",
    "NEURAL_META",
    "NEURAL_MODEL",
    "READER_ARTIFACTS",
    "Classifier",
    "Fusion",
    "GlyphSection",
    "Labels",
    "Manifest",
    "Monitoring",
    "NeuralRecord",
    "SelfTraining",
    "dataset_hash",
    "listed_artifacts",
    "load_manifest",
    "package_versions",
    "readers_of",
    "sha256_file",
    "stamped",
    "update_manifest",
    "write_manifest",
]

#: The artifact that tells each reader is in a model folder.
READER_ARTIFACTS = {"classical": GLYPH_MODEL, "neural": NEURAL_MODEL}


_SECTIONS: dict[str, type[_Section]] = {
    "labels": Labels,
    "fusion": Fusion,
    "classifier": Classifier,
    "neural": NeuralRecord,
    "monitoring": Monitoring,
    "self_training": SelfTraining,
}
# Top-level entries kept as they are (None: absent).
_PLAIN = (
    "reader", "metrics", "verified", "plan", "training_data", "config", "versions", "created",
    "training_seconds", "onnx_parity_max_abs_diff",
)  # fmt: skip


# ------------------------------------------------------------------ manifest
@dataclass(frozen=True, eq=False)
class Manifest(Mapping):
    """A checked model manifest, typed.

    Read it with :meth:`from_dict` (checks and migrates) or
    :func:`load_manifest`; :meth:`to_dict` gives the JSON layout back. As a
    read-only mapping it *is* that JSON document (``dict(manifest)``,
    ``GET /model``); code reads the typed fields.

    Attributes
    ----------
    artifacts : dict
        Artifact file name -> sha256.
    glyph : GlyphSection or None
        The classical reader's settings (when the folder holds it).
    labels, fusion, classifier, neural, monitoring, self_training : section or None
    reader : str or None
        The ``training.reader`` the model was trained with.
    metrics, verified, plan, training_data, config, versions : dict or None
        Figures and provenance, as training recorded them.
    created : str or None
    training_seconds, onnx_parity_max_abs_diff : float or None
    extra : dict
        Entries this version does not know: kept, so that nothing is lost on rewrite.
    """

    artifacts: dict[str, str] = field(default_factory=dict)
    reader: str | None = None
    glyph: GlyphSection | None = None
    labels: Labels | None = None
    fusion: Fusion | None = None
    classifier: Classifier | None = None
    neural: NeuralRecord | None = None
    monitoring: Monitoring | None = None
    self_training: SelfTraining | None = None
    metrics: dict | None = None
    verified: dict | None = None
    plan: dict | None = None
    training_data: dict | None = None
    config: dict | None = None
    versions: dict | None = None
    created: str | None = None
    training_seconds: float | None = None
    onnx_parity_max_abs_diff: float | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, model_dir: str | Path = ".", *, check_files: bool = False) -> Manifest:
        """Check a manifest document, migrate it to :data:`FORMAT_VERSION` and type it.

        Parameters
        ----------
        data : object
            The parsed ``manifest.json``.
        model_dir : path
            Its folder: for messages, and where the artifacts are when ``check_files``.
        check_files : bool
            Also check that every listed artifact is a file of ``model_dir`` with its sha256.

        Raises
        ------
        CorruptModelError
            If it is not an object, lacks a key or holds the wrong kind of value
            (the message names the key), lists no reader, or (``check_files``)
            an artifact is missing or its sha256 differs.
        ModelFolderError
            If its format version is newer than this code (or unknown).
        """
        return cls._typed(checked_document(data, Path(model_dir), check_files=check_files))

    @classmethod
    def from_entries(
        cls, entries: Mapping, files: Mapping[str, str | Path], model_dir: str | Path = "."
    ) -> Manifest:
        """The checked manifest of a model still being built: ``entries`` and the digests of its ``files``.

        ``entries`` are top-level JSON entries (what a training run records);
        ``files`` maps artifact names to their files. Raises as :meth:`from_dict`.
        """
        digests = {name: sha256_file(path) for name, path in files.items()}
        return cls.from_dict({**entries, "format_version": FORMAT_VERSION, "artifacts": digests}, model_dir)

    @classmethod
    def _typed(cls, doc: dict) -> Manifest:
        doc = dict(doc)
        doc.pop("format_version")
        typed: dict[str, Any] = {"artifacts": doc.pop("artifacts")}
        if GLYPH_MODEL in typed["artifacts"]:
            values = {f.name: doc.pop(f.name) for f in fields(GlyphSection)}
            typed["glyph"] = GlyphSection(**dict(values, class_columns=tuple(values["class_columns"])))
        typed.update(
            {name: section.from_dict(doc.pop(name)) for name, section in _SECTIONS.items() if name in doc}
        )
        typed.update({name: doc.pop(name) for name in _PLAIN if name in doc})
        return cls(**typed, extra=doc)

    def to_dict(self) -> dict:
        """The JSON document (a new deep copy), in the layout ``manifest.json`` holds."""
        doc = dict(self.extra, format_version=FORMAT_VERSION, artifacts=self.artifacts)
        if self.glyph is not None:
            doc.update(self.glyph.to_dict())
        for name in _SECTIONS:
            section = getattr(self, name)
            if section is not None:
                doc[name] = section.to_dict()
        doc.update({name: getattr(self, name) for name in _PLAIN if getattr(self, name) is not None})
        return copy.deepcopy(doc)

    @property
    def readers(self) -> list[str]:
        """The readers (``classical``, ``neural``) the artifacts hold, in that order."""
        return readers_of(self)

    @property
    def chosen(self) -> str | None:
        """The glyph classifier training chose, else the reader setting (what a run summary calls "chosen")."""
        if self.classifier is not None and self.classifier.chosen is not None:
            return self.classifier.chosen
        return self.reader

    # The JSON document as a read-only mapping (for JSON consumers such as ``GET /model``).
    @cached_property
    def _json(self) -> dict:
        return self.to_dict()

    def __getitem__(self, key: str) -> Any:
        return self._json[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._json)

    def __len__(self) -> int:
        return len(self._json)


# ------------------------------------------------------------------ folders
def listed_artifacts(doc) -> list[str] | None:
    """The artifact names of a manifest document, None if it is not a model's (no format_version and artifacts).

    Nothing else is checked: a folder holding an older or broken model is still recognised as a model's.
    """
    if isinstance(doc, Manifest):
        return list(doc.artifacts)
    if isinstance(doc, Mapping) and "format_version" in doc and isinstance(doc.get("artifacts"), Mapping):
        return list(doc["artifacts"])
    return None


def readers_of(manifest: Mapping | None) -> list[str]:
    """The readers (``classical``, ``neural``) a manifest's (or manifest document's) artifacts hold, in that order."""
    if isinstance(manifest, Manifest):
        artifacts = manifest.artifacts
    else:
        artifacts = (manifest or {}).get("artifacts", {})
    return [reader for reader, name in READER_ARTIFACTS.items() if name in artifacts]


def stamped(manifest: Manifest | Mapping, digests: Mapping[str, str], created: str) -> dict:
    """The document to publish: ``manifest`` with the current format version, these digests and a creation time."""
    doc = dict(manifest)  # a Manifest is its JSON document as a mapping
    doc.update(format_version=FORMAT_VERSION, artifacts=dict(digests))
    doc.setdefault("created", created)
    return doc


def write_manifest(model_dir: str | Path, manifest: Manifest | Mapping) -> Path:
    """Write ``manifest.json`` into ``model_dir`` atomically (sorted keys, indented)."""
    doc = dict(manifest)  # a Manifest is its JSON document as a mapping
    return atomic_write_text(Path(model_dir) / MANIFEST, json.dumps(doc, indent=2, sort_keys=True) + "\n")


def update_manifest(model_dir: str | Path, changes: Mapping) -> Manifest:
    """Merge top-level entries ``changes`` (JSON values) into a checked model folder's manifest, atomically.

    The artifacts are not touched (their digests still hold); only
    ``manifest.json`` is replaced, in one rename, in the current format
    version. The result is checked before it is written.

    Raises
    ------
    ModelFolderError
        As :func:`load_manifest` (also when the changed manifest does not
        pass the checks: the file is then untouched), and if ``changes``
        tries to rewrite the artifact digests or the format version.
    """
    protected = {"artifacts", "format_version"} & set(changes)
    if protected:
        raise ModelFolderError(f"update_manifest cannot change {sorted(protected)}; retrain instead")
    manifest = Manifest.from_dict({**load_manifest(model_dir).to_dict(), **changes}, model_dir)
    write_manifest(model_dir, manifest)
    return manifest


def load_manifest(model_dir: str | Path) -> Manifest:
    """Read and check a model folder's manifest (older format versions are migrated in memory).

    Raises
    ------
    ModelNotFoundError
        If the folder or its manifest does not exist (nothing trained there).
    CorruptModelError
        If the manifest is not a JSON object, lacks a key or holds the wrong
        kind of value, or an artifact is missing or its sha256 differs.
    ModelFolderError
        If the format is newer than this code.
    """
    model_dir = Path(model_dir)
    path = model_dir / MANIFEST
    if not path.exists():
        raise ModelNotFoundError(
            f"no trained model in {model_dir}: {MANIFEST} not found. "
            f"Run 'python model.py train --dataset DIR' or pass --model-dir with a trained model."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # a folder named manifest.json, bad UTF-8, bad JSON
        raise CorruptModelError(model_dir, f"unreadable {MANIFEST} ({exc})") from exc
    return Manifest.from_dict(data, model_dir, check_files=True)
