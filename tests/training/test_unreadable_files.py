"""Training on a folder where some files cannot be read: every reader skips them, the model is published."""

import shutil

import pytest

from captcha_solver.artifacts import load_manifest
from captcha_solver.solver import My_CaptchaSolver_Model
from tests.pngs import black_png

pytest.importorskip("torch", reason="training the neural reader needs torch (the 'train' extra)")


def _folder_with_bad_files(captcha_dir, root):
    folder = root / "mixed"
    folder.mkdir()
    good = sorted(captcha_dir.glob("*.png"))[:40]
    for path in good:
        shutil.copy(path, folder / path.name)
    data = good[0].read_bytes()
    bad = {
        "trunc1.png": data[:200],  # truncated PNGs: the neural reader's decoding used to stop the run here
        "trunc2.png": data[: len(data) // 2],
        "trunc3.png": data[:-40],
        "empty.png": b"",
        "notes.png": b"this is a text file named .png\n",
        "huge.png": black_png(1200),  # 1.44 Mpx, over the limit set below
    }
    for name, content in bad.items():
        (folder / name).write_bytes(content)
    return folder, good, sorted(bad)


def test_unreadable_files_are_skipped_and_listed_by_every_reader(captcha_dir, tmp_path):
    folder, good, bad = _folder_with_bad_files(captcha_dir, tmp_path)
    log = tmp_path / "log_file.log"
    solver = My_CaptchaSolver_Model(
        model_dir=tmp_path / "model",
        overrides={
            "classifier.candidates": ["logreg"],
            "neural.epochs": 1,
            "neural.channels": "8,16,16,24",
            "input.max_pixels": 1_000_000,
            "training.min_images": 10,
            "paths.log_file": str(log),
            "tracking.wandb_mode": "disabled",
            "logging.console": False,
        },
        results_csv=tmp_path / "results.csv",
    )
    solver.train(folder, reader="auto", progress=False)

    manifest = load_manifest(tmp_path / "model")  # published, with both readers
    assert {"glyph_classifier.onnx", "neural_reader.onnx"} <= set(manifest["artifacts"])
    # Each bad file is listed once, with its reason, whichever reader met it first.
    skipped = dict(solver.skipped_)
    assert sorted(p.rsplit("/", 1)[-1] for p in skipped) == bad
    assert len(solver.skipped_) == len(bad)
    reasons = {p.rsplit("/", 1)[-1]: why for p, why in skipped.items()}
    assert "truncated" in reasons["trunc1.png"] and "pixels" in reasons["huge.png"]
    text = log.read_text()
    for name in bad:
        assert f"{name}: " in text and "skipped" in text
    # Both readers trained and validated on the 40 good captchas only, the same validation ones.
    neural = manifest["neural"]["metrics"]
    assert neural["n_train"] + neural["n_val"] == len(good)
    assert manifest["metrics"]["val_captchas"] == neural["n_val"] == manifest["fusion"]["n"]
    assert manifest["training_data"]["skipped"] == len(bad)
