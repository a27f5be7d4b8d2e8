"""Publishing a model folder: refused over what is not a model, a backup kept, never no model."""

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from captcha_solver.artifacts import (
    MANIFEST,
    CorruptModelError,
    ModelFolderError,
    ModelNotFoundError,
    ModelTargetError,
    check_model_target,
    load_manifest,
    load_model_folder,
    prepare_model_dir,
    save_model,
)

ROOT = Path(__file__).resolve().parents[2]
ONNX = "glyph_classifier.onnx"
# What load_manifest requires of a classical reader's manifest.
READER_KEYS = {
    "charset": "ab",
    "class_columns": [0, 1, 2],
    "segmentation": {},
    "features": {},
    "decoding": {},
}


def _publish(model_dir, tmp_path, payload, **kwargs):
    src = tmp_path / f"src-{payload.decode()}.bin"
    src.write_bytes(payload)
    return save_model(model_dir, {ONNX: src}, READER_KEYS, **kwargs)


def _payload(folder):
    return (Path(folder) / ONNX).read_bytes()


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


def test_training_never_publishes_over_a_folder_of_other_files(tmp_path):
    target = tmp_path / "x"
    (target / "sub").mkdir(parents=True)
    (target / "notes.txt").write_text("notes")
    (target / "sub" / "thesis.tex").write_text("t")
    before = _tree(tmp_path)
    expected = r"x is not empty and holds no model \(manifest.json not found\): it holds notes.txt, sub/"
    with pytest.raises(ModelTargetError, match=expected):
        check_model_target(target)
    with pytest.raises(ModelTargetError, match="holds no model"):
        _publish(target, tmp_path, b"new")
    with pytest.raises(ModelTargetError, match="holds no model"):
        prepare_model_dir(target)
    assert (target / "notes.txt").read_text() == "notes" and (
        target / "sub" / "thesis.tex"
    ).read_text() == "t"
    assert _tree(tmp_path) == sorted(before + ["src-new.bin"])  # nothing else created, nothing deleted


def test_a_model_folder_with_unlisted_files_is_refused(tmp_path):
    target = _publish(tmp_path / "model", tmp_path, b"old")
    (target / "notes.txt").write_text("mine")
    expected = r"model holds a model but also notes.txt, which its manifest.json does not list"
    with pytest.raises(ModelTargetError, match=expected):
        _publish(target, tmp_path, b"new")
    assert _payload(target) == b"old" and (target / "notes.txt").read_text() == "mine"
    assert not (tmp_path / "model.prev").exists()


def test_a_manifest_that_is_not_a_models_is_refused(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / MANIFEST).write_text(json.dumps({"name": "my web app", "icons": []}))  # a web app manifest
    (site / "index.html").write_text("<html>")
    with pytest.raises(ModelTargetError, match=r"site/manifest.json is not a model manifest .*index.html"):
        check_model_target(site)
    (site / MANIFEST).write_text("{not json")
    with pytest.raises(ModelTargetError, match="not a model manifest"):
        check_model_target(site)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ModelTargetError, match="afile exists and is not a folder"):
        check_model_target(tmp_path / "afile")


def test_the_backup_name_must_not_hold_other_files_either(tmp_path):
    target = _publish(tmp_path / "model", tmp_path, b"old")
    prev = tmp_path / "model.prev"
    prev.mkdir()
    (prev / "photo.jpg").write_bytes(b"jpeg")
    with pytest.raises(ModelTargetError, match=r"model.prev is not empty and holds no model.*photo.jpg"):
        _publish(target, tmp_path, b"new")
    assert _payload(target) == b"old" and (prev / "photo.jpg").read_bytes() == b"jpeg"


def test_an_empty_folder_receives_a_model(tmp_path):
    (tmp_path / "model").mkdir()
    assert check_model_target(tmp_path / "model") is None
    _publish(tmp_path / "model", tmp_path, b"new")
    assert _payload(tmp_path / "model") == b"new" and not (tmp_path / "model.prev").exists()


def test_the_checkouts_placeholder_does_not_count_as_user_data(tmp_path):
    # model/ is kept in git by an empty .gitkeep: training into a fresh checkout must work, twice.
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / ".gitkeep").touch()
    assert check_model_target(tmp_path / "model") is None
    _publish(tmp_path / "model", tmp_path, b"one")
    _publish(tmp_path / "model", tmp_path, b"two")
    assert _payload(tmp_path / "model") == b"two" and _payload(tmp_path / "model.prev") == b"one"
    (tmp_path / "model" / "notes.txt").write_text("mine")
    with pytest.raises(ModelTargetError, match="notes.txt"):
        check_model_target(tmp_path / "model")


def test_a_link_to_a_model_folder_stays_a_link(tmp_path):
    real = _publish(tmp_path / "store" / "model", tmp_path, b"old")
    link = tmp_path / "model"
    link.symlink_to(real, target_is_directory=True)
    _publish(link, tmp_path, b"new")
    assert link.is_symlink() and _payload(link) == b"new"
    assert _payload(tmp_path / "store" / "model.prev") == b"old"  # next to the folder the link points to
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["model", "model.prev"]


def test_replacing_keeps_the_previous_model_and_logs_the_readers(tmp_path, caplog):
    logger = logging.getLogger("test_publish")
    target = _publish(tmp_path / "model", tmp_path, b"old", logger=logger)
    neural = tmp_path / "neural.onnx"
    neural.write_bytes(b"net")
    files = {ONNX: tmp_path / "src-old.bin", "neural_reader.onnx": neural, "neural_reader.json": neural}
    save_model(target, files, READER_KEYS, logger=logger)
    with caplog.at_level(logging.INFO, logger="test_publish"):
        _publish(target, tmp_path, b"new", logger=logger)
    assert _payload(target) == b"new" and _payload(tmp_path / "model.prev") == b"old"
    assert "neural_reader.onnx" in load_manifest(tmp_path / "model.prev")["artifacts"]
    text = caplog.text
    assert (
        "it holds the classical reader; the model it replaced held the classical and neural readers" in text
    )
    assert f"kept in {tmp_path / 'model.prev'}" in text
    assert "has no neural reader, which the replaced one had" in text
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_load_falls_back_to_the_previous_model(tmp_path, caplog):
    logger = logging.getLogger("test_publish")
    target = _publish(tmp_path / "model", tmp_path, b"old")
    _publish(target, tmp_path, b"new")
    (target / ONNX).unlink()  # incomplete
    with caplog.at_level(logging.WARNING, logger="test_publish"):
        folder, manifest = load_model_folder(target, logger=logger)
    assert folder == tmp_path / "model.prev" and _payload(folder) == b"old"
    assert "listed in manifest.json but missing; loading the previous model from" in caplog.text
    (tmp_path / "model.prev" / ONNX).write_bytes(b"tampered")
    expected = r"missing; the previous model in .*model.prev is not usable either: .*sha256"
    with pytest.raises(CorruptModelError, match=expected):
        load_model_folder(target)
    shutil.rmtree(target)
    with pytest.raises(
        ModelNotFoundError, match=r"no trained model in .*; the previous model in .* is not usable"
    ):
        load_model_folder(target)
    with pytest.raises(ModelFolderError, match="no trained model in"):
        load_model_folder(tmp_path / "nowhere")


# A publication killed (os._exit: no exception handler, no clean-up) before its
# n-th file-system step: every rename, exchange, rmtree and os.replace counts.
_CRASH = """
import json, os, shutil, sys
from pathlib import Path
import captcha_solver.common.atomic as atomic
from captcha_solver.artifacts import save_model

target, src, kill_at, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
done = [0]

def step(real):
    def run(*args, **kwargs):
        if done[0] == kill_at:
            os._exit(9)
        done[0] += 1
        return real(*args, **kwargs)
    return run

if mode == "renames":  # a platform or file system without renameat2(RENAME_EXCHANGE)
    atomic.exchange_paths = lambda a, b: False
atomic.exchange_paths = step(getattr(atomic, "exchange_paths", None))
os.rename, os.replace, shutil.rmtree = step(os.rename), step(os.replace), step(shutil.rmtree)
save_model(target, {"glyph_classifier.onnx": Path(src)}, json.loads(sys.argv[5]))
"""


@pytest.mark.parametrize("mode", ["exchange", "renames"])
@pytest.mark.parametrize("kill_at", range(6))  # every step of both sequences, and past the last
def test_a_crash_at_any_step_leaves_a_loadable_model_and_the_next_run_recovers(tmp_path, mode, kill_at):
    target = _publish(tmp_path / "model", tmp_path, b"older")
    _publish(target, tmp_path, b"old")  # model.prev/ holds "older": its removal is a step too
    src = tmp_path / "src-new.bin"
    src.write_bytes(b"new")
    run = subprocess.run(
        [sys.executable, "-c", _CRASH, str(target), str(src), str(kill_at), mode, json.dumps(READER_KEYS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode in (0, 9), run.stderr

    if mode == "exchange":  # the swap is atomic: model/ itself is complete at every instant
        assert _payload(target) in (b"old", b"new") and load_manifest(target)
    folder, _ = load_model_folder(target)
    assert _payload(folder) in (b"old", b"new")
    main_was_missing = not (target / MANIFEST).is_file()

    prepare_model_dir(target)  # what the next train run does first
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    assert load_manifest(target)
    if main_was_missing:  # killed between the two renames: the staged new model is put in place
        assert _payload(target) == b"new" and _payload(tmp_path / "model.prev") == b"old"
    if run.returncode == 0:
        assert _payload(target) == b"new" and _payload(tmp_path / "model.prev") == b"old"
