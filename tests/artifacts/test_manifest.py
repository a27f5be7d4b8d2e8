import json

import pytest

from captcha_solver.artifacts import MANIFEST, ModelFolderError, dataset_hash, load_manifest, save_model, sha256_file, update_manifest


def _publish(model_dir, tmp_path, payload=b"onnx-bytes", **manifest):
    src = tmp_path / "src.bin"
    src.write_bytes(payload)
    return save_model(model_dir, {"glyph_classifier.onnx": src}, {"charset": "ab", **manifest})


def test_save_then_load_round_trip(tmp_path):
    model_dir = _publish(tmp_path / "model", tmp_path)
    manifest = load_manifest(model_dir)
    assert manifest["charset"] == "ab" and manifest["format_version"] == 1
    assert manifest["artifacts"]["glyph_classifier.onnx"] == sha256_file(model_dir / "glyph_classifier.onnx")


def test_failed_publish_keeps_the_old_model(tmp_path, monkeypatch):
    model_dir = _publish(tmp_path / "model", tmp_path, payload=b"old")
    import captcha_solver.artifacts._manifest as m

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(m, "atomic_write_text", boom)
    with pytest.raises(OSError, match="disk full"):
        _publish(model_dir, tmp_path, payload=b"new")
    assert (model_dir / "glyph_classifier.onnx").read_bytes() == b"old"
    assert load_manifest(model_dir)["charset"] == "ab"
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
    updated = update_manifest(model_dir, {"routing": {"min_confidence": 0.8}})
    assert updated["routing"] == {"min_confidence": 0.8} and updated["charset"] == "ab"
    assert load_manifest(model_dir)["routing"]["min_confidence"] == 0.8
    with pytest.raises(ModelFolderError, match="cannot change"):
        update_manifest(model_dir, {"artifacts": {}})
    with pytest.raises(ModelFolderError, match="not found"):
        update_manifest(tmp_path / "nowhere", {"routing": {}})
