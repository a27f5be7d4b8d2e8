"""The typed manifest: the JSON layout round-trips, version 1 migrates, unknown entries stay, errors name the key."""

import json
import shutil
from pathlib import Path

import pytest

from captcha_solver.artifacts import (
    FORMAT_VERSION,
    GLYPH_MODEL,
    MANIFEST,
    NEURAL_META,
    NEURAL_MODEL,
    CorruptModelError,
    Fusion,
    GlyphSection,
    Labels,
    Manifest,
    ModelFolderError,
    load_manifest,
    save_model,
    update_manifest,
)
from captcha_solver.inference import ReadPolicy, shipped_model_dir

SHIPPED = shipped_model_dir()
GLYPH = {
    "charset": "ab",
    "class_columns": [0, 1, 2],
    "segmentation": {},
    "features": {},
    "decoding": {},
}


def _shipped() -> dict:
    return json.loads((SHIPPED / MANIFEST).read_text(encoding="utf-8"))


def _doc(**entries) -> dict:
    return {"format_version": FORMAT_VERSION, "artifacts": {GLYPH_MODEL: "0" * 64}, **GLYPH, **entries}


def test_the_shipped_manifest_round_trips_to_its_json():
    raw = _shipped()
    manifest = Manifest.from_dict(raw, SHIPPED)
    # Only the format version changes: version 1 is read as the current one, the layout is the same.
    assert manifest.to_dict() == {**raw, "format_version": FORMAT_VERSION}
    assert Manifest.from_dict(manifest.to_dict(), SHIPPED).to_dict() == manifest.to_dict()
    # As a mapping it is that document (what GET /model returns and tests compare).
    assert dict(manifest) == manifest.to_dict() and manifest == {**raw, "format_version": FORMAT_VERSION}
    assert manifest.extra == {}


def test_the_shipped_manifest_reads_as_typed_fields():
    raw = _shipped()
    manifest = load_manifest(SHIPPED)  # digests checked
    assert manifest.readers == ["classical", "neural"] and manifest.reader == raw["reader"]
    assert isinstance(manifest.glyph, GlyphSection) and manifest.glyph.charset == raw["charset"]
    assert list(manifest.glyph.class_columns) == raw["class_columns"]
    assert manifest.glyph.segmentation == raw["segmentation"] and manifest.glyph.decoding == raw["decoding"]
    assert manifest.labels.lengths == {int(n): c for n, c in raw["labels"]["lengths"].items()}
    assert manifest.labels.charset == raw["labels"]["charset"]
    fusion = raw["fusion"]
    assert (
        manifest.fusion.weight_classical,
        manifest.fusion.temperature,
        manifest.fusion.min_confidence,
    ) == (
        fusion["weight_classical"],
        fusion["temperature"],
        fusion["min_confidence"],
    )
    assert manifest.fusion.extra["n"] == fusion["n"]
    assert manifest.classifier.chosen == manifest.chosen == raw["classifier"]["chosen"]
    assert manifest.neural.history == raw["neural"]["history"]
    assert manifest.metrics == raw["metrics"] and manifest.verified == raw["verified"]
    assert manifest.plan == raw["plan"] and manifest.training_seconds == raw["training_seconds"]


def test_to_dict_is_a_copy():
    manifest = Manifest.from_dict(_doc(metrics={"val_exact": 0.5}))
    doc = manifest.to_dict()
    doc["metrics"]["val_exact"] = 0.0
    doc["class_columns"].append(7)
    assert manifest.metrics == {"val_exact": 0.5} and manifest.glyph.class_columns == (0, 1, 2)


def _version_1(tmp_path, **entries) -> Path:
    """A copy of the shipped model whose manifest is rewritten as version 1 with ``entries`` changed."""
    folder = tmp_path / "model"
    shutil.copytree(SHIPPED, folder)
    raw = {**_shipped(), "format_version": 1, **entries}
    (folder / MANIFEST).write_text(json.dumps({k: v for k, v in raw.items() if v is not None}, indent=2))
    return folder


def test_version_1_routing_threshold_moves_into_the_fusion(tmp_path):
    # A model fitted before the fusion: its fast-path threshold was a top-level "routing" entry.
    routing = {"min_confidence": 0.97, "n": 300, "val_exact": 0.99}
    folder = _version_1(tmp_path, fusion=None, routing=routing)
    before = (folder / MANIFEST).read_bytes()
    manifest = load_manifest(folder)
    assert manifest.fusion == Fusion(min_confidence=0.97)
    assert manifest.extra == {"routing": {"n": 300, "val_exact": 0.99}}  # the rest of its fit is kept
    policy = ReadPolicy.from_manifest(manifest)
    assert (policy.min_confidence, policy.weight_classical, policy.temperature) == (0.97, 0.5, 1.0)
    assert (folder / MANIFEST).read_bytes() == before  # reading never rewrites the file
    # Updating writes the current version, migrated.
    update_manifest(folder, {"note": "kept"})
    written = json.loads((folder / MANIFEST).read_text())
    assert written["format_version"] == FORMAT_VERSION and written["fusion"] == {"min_confidence": 0.97}
    assert written["routing"] == {"n": 300, "val_exact": 0.99} and written["note"] == "kept"
    assert load_manifest(folder).fusion.min_confidence == 0.97


def test_version_1_fusion_threshold_wins_over_routing(tmp_path):
    fusion = _shipped()["fusion"]
    folder = _version_1(tmp_path, routing={"min_confidence": 0.1})
    manifest = load_manifest(folder)
    assert manifest.fusion.min_confidence == fusion["min_confidence"]
    assert manifest.extra == {"routing": {"min_confidence": 0.1}}
    # A fusion without a threshold takes the legacy one and keeps its weights.
    no_threshold = {k: v for k, v in fusion.items() if k != "min_confidence"}
    manifest = load_manifest(_version_1(tmp_path / "2", fusion=no_threshold, routing={"min_confidence": 0.5}))
    assert manifest.fusion.min_confidence == 0.5
    assert manifest.fusion.weight_classical == fusion["weight_classical"] and "routing" not in manifest.extra


def test_version_1_without_routing_carries_over(tmp_path):
    manifest = load_manifest(_version_1(tmp_path))
    assert manifest.to_dict() == {**_shipped(), "format_version": FORMAT_VERSION}


def test_unknown_entries_are_kept(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"onnx")
    entries = {
        **GLYPH,
        "future_section": {"x": [1, 2]},
        "labels": {"charset": "ab", "lengths": {"2": 4, "10": 1}, "source": "survey"},
        "fusion": {"weight_classical": 0.4, "n": 9, "weight_range": [0.3, 0.5]},
        "classifier": {"chosen": "svm", "notes": "x"},
    }
    model_dir = save_model(tmp_path / "model", {GLYPH_MODEL: src}, entries)
    manifest = load_manifest(model_dir)
    assert manifest.extra == {"future_section": {"x": [1, 2]}}
    assert manifest.labels.extra == {"source": "survey"} and manifest.labels.lengths == {2: 4, 10: 1}
    assert (
        manifest.fusion.extra == {"n": 9, "weight_range": [0.3, 0.5]} and manifest.fusion.temperature is None
    )
    assert manifest.classifier.extra == {"notes": "x"}
    # Rewritten by an update, nothing is lost (the label lengths keep their JSON form).
    update_manifest(model_dir, {"verified": {"val_exact": 1.0}})
    written = json.loads((model_dir / MANIFEST).read_text())
    for key in ("future_section", "labels", "fusion", "classifier"):
        assert written[key] == entries[key]


def test_a_manifest_built_in_code_writes_the_same_layout(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"onnx")
    manifest = Manifest.from_entries({**GLYPH, "reader": "classical"}, {GLYPH_MODEL: src}, tmp_path)
    assert manifest.glyph == GlyphSection("ab", (0, 1, 2), {}, {}, {}) and manifest.readers == ["classical"]
    model_dir = save_model(tmp_path / "model", {GLYPH_MODEL: src}, manifest)
    written = json.loads((model_dir / MANIFEST).read_text())
    assert {k: written[k] for k in GLYPH} == GLYPH and written["reader"] == "classical"
    assert written["format_version"] == FORMAT_VERSION and "created" in written
    assert load_manifest(model_dir).artifacts == manifest.artifacts
    assert Manifest(labels=Labels(lengths={5: 3})).to_dict()["labels"] == {"lengths": {"5": 3}}


@pytest.mark.parametrize(
    "doc, message",
    [
        ({**_doc(), "charset": None}, "manifest.json key 'charset' is null, expected a string"),
        (
            {k: v for k, v in _doc().items() if k != "decoding"},
            "lacks the key 'decoding' \\(glyph_classifier",
        ),
        (
            _doc(fusion={"weight_classical": "0.5"}),
            "'fusion.weight_classical' is a string, expected a number",
        ),
        (_doc(labels={"lengths": {"5x": 3}}), "'labels.lengths' must map text lengths to counts"),
        (_doc(created=20261201), "key 'created' is a number, expected a string"),
        (
            {"format_version": FORMAT_VERSION, "artifacts": {NEURAL_MODEL: "0" * 64}},
            f"lists {NEURAL_MODEL} but not its metadata {NEURAL_META}",
        ),
        ([_doc()], "manifest.json holds an array, expected an object"),
    ],
)
def test_a_missing_or_ill_typed_key_is_named(tmp_path, doc, message):
    with pytest.raises(CorruptModelError, match=f"model in {tmp_path} is corrupt: .*{message}"):
        Manifest.from_dict(doc, tmp_path)


@pytest.mark.parametrize("version", [FORMAT_VERSION + 1, 0, "2", True, None])
def test_a_newer_or_unknown_format_is_refused(tmp_path, version):
    with pytest.raises(
        ModelFolderError, match=f"format_version {version!r}, this solver reads version 2"
    ) as info:
        Manifest.from_dict(_doc(format_version=version), tmp_path)
    assert not isinstance(info.value, CorruptModelError)
    assert str(tmp_path / MANIFEST) in str(info.value)
