import json
import re

import pytest

from captcha_solver.artifacts import (
    FORMAT_VERSION,
    MANIFEST,
    CorruptModelError,
    ModelFolderError,
    ModelNotFoundError,
    dataset_hash,
    load_manifest,
    save_model,
    sha256_file,
    update_manifest,
)

# What the classical reader is built from (the values are not used here).
READER_KEYS = {
    "charset": "ab",
    "class_columns": [0, 1, 2],
    "segmentation": {},
    "features": {},
    "decoding": {},
}


def _publish(model_dir, tmp_path, payload=b"onnx-bytes", **manifest):
    src = tmp_path / "src.bin"
    src.write_bytes(payload)
    return save_model(model_dir, {"glyph_classifier.onnx": src}, {**READER_KEYS, **manifest})


def test_save_then_load_round_trip(tmp_path):
    model_dir = _publish(tmp_path / "model", tmp_path)
    manifest = load_manifest(model_dir)
    assert manifest.glyph.charset == "ab" and manifest["format_version"] == FORMAT_VERSION == 2
    assert manifest.artifacts["glyph_classifier.onnx"] == sha256_file(model_dir / "glyph_classifier.onnx")
    assert json.loads((model_dir / MANIFEST).read_text())["format_version"] == FORMAT_VERSION


def test_failed_publish_keeps_the_old_model(tmp_path, monkeypatch):
    model_dir = _publish(tmp_path / "model", tmp_path, payload=b"old")
    import captcha_solver.artifacts._manifest as m

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(m, "atomic_write_text", boom)
    with pytest.raises(OSError, match="disk full"):
        _publish(model_dir, tmp_path, payload=b"new")
    assert (model_dir / "glyph_classifier.onnx").read_bytes() == b"old"
    assert load_manifest(model_dir).glyph.charset == "ab"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "src.bin"]  # no staging folder left


def test_missing_model_says_how_to_train(tmp_path):
    with pytest.raises(ModelFolderError, match=r"no trained model in .*Run 'python model.py train"):
        load_manifest(tmp_path / "nowhere")


def test_missing_artifact_and_bad_version(tmp_path):
    model_dir = _publish(tmp_path / "model", tmp_path)
    (model_dir / "glyph_classifier.onnx").unlink()
    with pytest.raises(ModelFolderError, match="listed in manifest.json but missing"):
        load_manifest(model_dir)
    manifest = json.loads((model_dir / MANIFEST).read_text())
    manifest["format_version"] = 99
    (model_dir / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelFolderError, match="format_version 99"):
        load_manifest(model_dir)


def test_unreadable_manifest(tmp_path):
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(ModelFolderError, match="unreadable manifest"):
        load_manifest(tmp_path)


def test_dataset_hash_depends_on_content_not_order(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    a.write_bytes(b"1")
    b.write_bytes(b"2")
    assert dataset_hash([a, b]) == dataset_hash([b, a])
    before = dataset_hash([a, b])
    b.write_bytes(b"3")
    assert dataset_hash([a, b]) != before


def test_update_manifest_merges_and_keeps_the_checks(tmp_path):
    model_dir = _publish(tmp_path / "model", tmp_path)
    updated = update_manifest(model_dir, {"fusion": {"min_confidence": 0.8, "n": 12}})
    assert updated.fusion.min_confidence == 0.8 and updated.fusion.extra == {"n": 12}
    assert updated.glyph.charset == "ab"
    assert load_manifest(model_dir).fusion.min_confidence == 0.8
    with pytest.raises(ModelFolderError, match="cannot change"):
        update_manifest(model_dir, {"artifacts": {}})
    with pytest.raises(ModelFolderError, match="not found"):
        update_manifest(tmp_path / "nowhere", {"fusion": {}})
    # A change that does not pass the checks is refused before anything is written.
    before = (model_dir / MANIFEST).read_bytes()
    with pytest.raises(CorruptModelError, match="'fusion.temperature' is a string, expected a number"):
        update_manifest(model_dir, {"fusion": {"temperature": "warm"}})
    assert (model_dir / MANIFEST).read_bytes() == before


def _edit_manifest(model_dir, edit):
    path = model_dir / MANIFEST
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(edit(manifest)))


def test_no_manifest_is_not_trained_and_a_broken_one_is_corrupt(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="no trained model in"):
        load_manifest(tmp_path / "empty")
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(
        CorruptModelError, match=rf"^model in {re.escape(str(tmp_path))} is corrupt: unreadable manifest.json"
    ):
        load_manifest(tmp_path)


@pytest.mark.parametrize(
    "text, found",
    [
        ("[1, 2]", "holds an array"),
        ('"model"', "holds a string"),
        ("null", "holds null"),
        ("3", "holds a number"),
    ],
)
def test_manifest_that_is_not_an_object(tmp_path, text, found):
    (tmp_path / MANIFEST).write_text(text)
    with pytest.raises(CorruptModelError, match=f"is corrupt: manifest.json {found}, expected an object"):
        load_manifest(tmp_path)


@pytest.mark.parametrize(
    "drop, message",
    [
        ("format_version", "manifest.json lacks the key 'format_version'"),
        ("artifacts", "manifest.json lacks the key 'artifacts', expected an object of file name -> sha256"),
        ("charset", r"manifest.json lacks the key 'charset' \(glyph_classifier.onnx needs it\)"),
        ("class_columns", "manifest.json lacks the key 'class_columns'"),
        ("segmentation", "manifest.json lacks the key 'segmentation'"),
    ],
)
def test_manifest_that_lacks_a_key(tmp_path, drop, message):
    model_dir = _publish(tmp_path / "model", tmp_path)
    _edit_manifest(model_dir, lambda m: {k: v for k, v in m.items() if k != drop})
    with pytest.raises(CorruptModelError, match=f"model in .*model is corrupt: {message}") as info:
        load_manifest(model_dir)
    assert info.value.model_dir == model_dir


@pytest.mark.parametrize(
    "change, message",
    [
        ({"artifacts": ["glyph_classifier.onnx"]}, "key 'artifacts' is an array"),
        ({"artifacts": None}, "key 'artifacts' is null"),
        ({"artifacts": {}}, r"lists no reader \(glyph_classifier.onnx or neural_reader.onnx\)"),
        (
            {"artifacts": {"../glyph_classifier.onnx": "0" * 64}},
            "lists artifact '../glyph_classifier.onnx', which is not a file name",
        ),
        (
            {"artifacts": {"glyph_classifier.onnx": 12}},
            "records a number as the sha256 of glyph_classifier.onnx",
        ),
        ({"charset": ["a", "b"]}, "key 'charset' is an array, expected a string"),
        ({"charset": ""}, "key 'charset' is empty"),
        ({"segmentation": None}, "key 'segmentation' is null, expected an object"),
        ({"class_columns": [0, 1, 7]}, r"'class_columns' must list class indices 0..2 .*found \[7\]"),
        # The legacy threshold of format version 1 is checked when that version is migrated.
        ({"format_version": 1, "routing": [0.5]}, "key 'routing' is an array, expected an object"),
        (
            {"format_version": 1, "routing": {"min_confidence": "high"}},
            "'routing.min_confidence' is a string, expected a number",
        ),
        ({"fusion": [1]}, "key 'fusion' is an array, expected an object"),
        ({"fusion": {"temperature": None}}, "'fusion.temperature' is null, expected a number"),
        (
            {"fusion": {"weight_classical": True}},
            "'fusion.weight_classical' is true or false, expected a number",
        ),
        (
            {"fusion": {"min_confidence": float("nan")}},
            "'fusion.min_confidence' is a number, expected a number",
        ),
        ({"labels": {"lengths": {"five": 3}}}, "'labels.lengths' must map text lengths to counts"),
        ({"labels": {"lengths": [5]}}, "'labels.lengths' must map text lengths to counts"),
        ({"labels": {"lengths": {"5": "many"}}}, "'labels.lengths' must map text lengths to counts"),
        ({"labels": {"charset": 5}}, "key 'labels.charset' is a number, expected a string"),
        ({"reader": 3}, "key 'reader' is a number, expected a string"),
        ({"metrics": [0.9]}, "key 'metrics' is an array, expected an object"),
        ({"verified": "yes"}, "key 'verified' is a string, expected an object"),
        ({"training_seconds": "long"}, "key 'training_seconds' is a string, expected a number"),
        ({"classifier": {"chosen": ["logreg"]}}, "key 'classifier.chosen' is an array, expected a string"),
        ({"neural": {"history": {}}}, "key 'neural.history' is an object, expected an array"),
    ],
)
def test_manifest_with_a_wrong_value(tmp_path, change, message):
    model_dir = _publish(tmp_path / "model", tmp_path)
    _edit_manifest(model_dir, lambda m: {**m, **change})
    with pytest.raises(CorruptModelError, match=message):
        load_manifest(model_dir)


def test_neural_reader_needs_its_metadata_listed(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"onnx")
    model_dir = save_model(tmp_path / "model", {"neural_reader.onnx": src}, {})
    with pytest.raises(
        CorruptModelError, match="lists neural_reader.onnx but not its metadata neural_reader.json"
    ):
        load_manifest(model_dir)
