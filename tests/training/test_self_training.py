"""Self-training on unlabelled captchas (train --unlabelled): pseudo-labels kept above a threshold chosen on validation."""

from __future__ import annotations

import math
import shutil
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from captcha_solver.artifacts import load_manifest
from captcha_solver.image_io import ImageDecodeError
from captcha_solver.metrics import wilson_interval
from captcha_solver.settings import Config, apply_overrides
from captcha_solver.training import expected_threshold, fits_labels, pick_threshold, unlabelled_files
from captcha_solver.training._self_training import _read, published_round
from captcha_solver.training._views import VIEWS, augmented_views
from model import My_CaptchaSolver_Model, cli
from tests.split_captchas import labelled_and_unlabelled

QUIET = {
    "logging.console": False,
    "tracking.wandb_mode": "disabled",
    "classifier.candidates": ["logreg"],
    "training.reader": "classical",
    "registry.register_on_train": False,
}


@pytest.fixture(scope="module")
def folders(captcha_dir, tmp_path_factory):
    """60 labelled captchas; 100 others without their labels, plus files that cannot be used."""
    root = tmp_path_factory.mktemp("self-training")
    labelled, unlabelled, truth = labelled_and_unlabelled(captcha_dir, root, 60, 100)
    files = sorted(captcha_dir.glob("*.png"))
    data = files[0].read_bytes()
    bad = {
        "broken.png": data[: len(data) // 2],  # truncated: does not decode
        "empty.png": b"",
        "notes.txt": b"not a captcha\n",  # not an image extension
        "copy-of-labelled.png": data,  # the bytes of labelled captcha files[0]: not used twice
    }
    for name, content in bad.items():
        (unlabelled / name).write_bytes(content)
    # A white picture decodes but holds no text: a reading (never kept), not an unreadable file.
    (unlabelled / "blank.png").write_bytes(
        cv2.imencode(".png", np.full((50, 200, 3), 255, np.uint8))[1].tobytes()
    )
    return root, labelled, unlabelled, truth, sorted(bad)


@pytest.fixture(scope="module")
def self_trained(folders):
    root, labelled, unlabelled, _, _ = folders
    solver = My_CaptchaSolver_Model(
        model_dir=root / "model",
        overrides={
            **QUIET,
            "training.budget_minutes": 4,
            "training.self_training_rounds": 1,
            # A classical reader on 54 captchas is not 99% sure of enough readings to keep any.
            "training.pseudo_label_precision": 0.9,
            "paths.log_file": str(root / "log_file.log"),
        },
        results_csv=root / "results.csv",
    )
    solver.train(labelled, progress=False, unlabelled=unlabelled)
    return solver, load_manifest(root / "model"), (root / "log_file.log").read_text()


def test_kept_pseudo_labels_are_recorded_with_their_threshold_and_precision(self_trained, folders):
    solver, manifest, log = self_trained
    _, _, unlabelled, truth, _ = folders
    section = manifest.self_training
    assert section is not None and section.folder == str(unlabelled)
    assert section.target_precision == 0.9
    # The 100, the blank one and the two files found unreadable only when read (two more were left out when listed).
    assert section.extra["unlabelled"] == len(truth) + 3 and section.extra["unreadable"] == 2
    assert section.extra["left_out"] == 2
    (first,) = section.rounds
    # The round published is the latest within the noise of the best on validation, and the log says why.
    figures = [first["val_exact_before"], first["val_exact_after"]]
    chosen, why = published_round(figures, manifest.verified["n"])
    assert section.extra["published_round"] == chosen and section.extra["published_why"] == why
    assert f"publishing round {chosen} ({why})" in log
    # The classical reader on 54 seed captchas is sure of many readings: some are kept, not all.
    assert 0 < first["kept"] < first["read"] == len(truth) + 1
    assert first["threshold"] is not None and 0 < first["threshold"] <= 1
    # Validation readings at or above the threshold do not contradict the precision asked for, and the
    # kept readings reach it by their mean calibrated confidence; the threshold is the higher of the two.
    right = round(first["val_precision"] * first["val_above"])
    assert wilson_interval(right, first["val_above"])[1] >= 0.9 and first["val_above"] >= 5
    assert first["expected_precision"] >= 0.9
    assert first["threshold"] == max(first["val_threshold"], first["expected_threshold"])
    assert first["val_n"] <= manifest.verified["n"]
    assert math.isfinite(first["val_exact_after"])
    # Pseudo-labelled captchas never enter validation: it is the labelled hold-out alone.
    assert manifest.verified["n"] == round(60 * manifest.plan["chosen"]["training.validation_fraction"])
    assert manifest.config["training"]["unlabelled"] == str(unlabelled)
    assert "self-training round 1: threshold" in log and f"kept {first['kept']} of 101" in log
    # Readings whose augmented views read another text are counted and never kept.
    assert 0 <= first["views_disagree"] <= first["read"] - first["kept"]
    assert f"({first['views_disagree']} left out: their augmented views read another text;" in log
    # The groups of characters validation confuses (pseudo_label_merge = 2 times or more) are recorded and
    # named in the log when there are any.
    assert all(isinstance(g, str) and len(g) >= 2 for g in first["merged"])
    assert ("one class each in the pseudo-labels' loss" in log) == bool(first["merged"])


def test_bad_unlabelled_files_are_skipped_once_with_their_reason(self_trained, folders):
    solver, _, log = self_trained
    *_, bad = folders
    reasons = {p.rsplit("/", 1)[-1]: why for p, why in solver.skipped_ if "/unlabelled/" in p}
    assert sorted(reasons) == bad
    assert len([p for p, _ in solver.skipped_ if "/unlabelled/" in p]) == len(bad)
    assert "not used twice" in reasons["copy-of-labelled.png"]
    assert "extension '.txt'" in reasons["notes.txt"]
    assert "broken.png" in reasons["broken.png"] and "empty.png" in reasons["empty.png"]
    for name in bad:
        assert f"unlabelled/{name}" in log


def test_the_published_model_reads_the_unlabelled_style(self_trained, folders):
    solver, _, _ = self_trained
    _, _, unlabelled, truth, _ = folders
    right = sum(solver.read(unlabelled / name).text == text for name, text in truth.items())
    assert right >= 0.5 * len(truth)


@pytest.mark.parametrize("kind", ["missing", "empty", "file", "only-labelled"])
def test_an_unusable_unlabelled_folder_is_a_clear_error_naming_it(folders, tmp_path, kind):
    _, labelled, *_ = folders
    target = tmp_path / kind
    if kind == "empty":
        target.mkdir()
    elif kind == "file":
        target.write_text("x")
    elif kind == "only-labelled":
        shutil.copytree(labelled, target)
    log = tmp_path / "log_file.log"
    cli_sets = {**QUIET, "classifier.candidates": '["logreg"]', "paths.log_file": str(log)}
    sets = [a for k, v in cli_sets.items() for a in ("--set", f"{k}={v}")]
    args = [*sets, "train", "--model-dir", str(tmp_path / "model"), "--dataset", str(labelled)]
    result = CliRunner().invoke(cli, [*args, "--unlabelled", str(target)], catch_exceptions=False)
    assert result.exit_code == 1
    assert f"unlabelled folder {target}" in result.output and "--unlabelled" in result.output
    expected = {"missing": "not found", "empty": "is empty", "file": "is a file", "only-labelled": "no image"}
    assert expected[kind] in result.output
    assert not (tmp_path / "model" / "manifest.json").exists()


def test_the_setting_names_the_folder_when_the_flag_is_not_given(folders, tmp_path):
    _, labelled, *_ = folders
    solver = My_CaptchaSolver_Model(
        model_dir=tmp_path / "model",
        overrides={
            **QUIET,
            "training.unlabelled": str(tmp_path / "nowhere"),
            "paths.log_file": str(tmp_path / "l"),
        },
        results_csv=tmp_path / "results.csv",
    )
    with pytest.raises(FileNotFoundError, match="nowhere"):
        solver.train(labelled, progress=False)


def test_unlabelled_files_leave_out_copies_of_labelled_captchas(folders):
    _, labelled, unlabelled, truth, _ = folders
    files, left_out = unlabelled_files(unlabelled, [str(p) for p in labelled.iterdir()], Config())
    names = sorted(p.rsplit("/", 1)[-1] for p in files)
    assert names == sorted([*truth, "blank.png", "broken.png", "empty.png"])  # two fail only when read
    assert {p.rsplit("/", 1)[-1] for p, _ in left_out} == {"notes.txt", "copy-of-labelled.png"}


def test_threshold_is_the_lowest_that_meets_the_precision_on_validation():
    conf = [0.99, 0.98, 0.97, 0.95, 0.9, 0.8, 0.7, 0.6]
    right = [True, True, True, True, False, True, False, False]
    picked = pick_threshold(conf, right, 0.8)
    # At 0.8: 5 right of 6 (0.83); at 0.7: 5 of 7 (0.71).
    assert picked == {"threshold": 0.8, "val_precision": 5 / 6, "val_above": 6, "val_n": 8}
    strict = pick_threshold(conf, right, 0.99)
    assert strict["threshold"] == 0.95 and strict["val_precision"] == 1.0 and strict["val_above"] == 4
    # Readings above the picked threshold meet the target, whatever it is.
    for target in (0.5, 0.7, 0.9, 1.0):
        got = pick_threshold(conf, right, target)
        kept = [ok for c, ok in zip(conf, right) if c >= got["threshold"]]
        assert sum(kept) / len(kept) >= target


def test_no_threshold_when_no_confidence_reaches_the_target_and_ties_are_not_split():
    none = pick_threshold([0.9, 0.8], [False, True], 0.99)
    assert none["threshold"] == math.inf and none["val_above"] == 0 and math.isnan(none["val_precision"])
    # A wrong reading tied with right ones at 0.9: the cut cannot keep the right ones alone.
    tied = pick_threshold([0.95, 0.9, 0.9, 0.9], [True, True, False, True], 0.99)
    assert tied["threshold"] == 0.95 and tied["val_above"] == 1
    assert pick_threshold([], [], 0.9)["threshold"] == math.inf
    # Too few readings above a cut to measure a precision on: no threshold.
    few = pick_threshold([0.99, 0.98, 0.5, 0.4], [True, True, False, False], 0.99, min_above=3)
    assert few["threshold"] == math.inf
    assert (
        pick_threshold([0.99, 0.98, 0.97, 0.5], [True] * 3 + [False], 0.99, min_above=3)["threshold"] == 0.97
    )


def test_expected_threshold_keeps_the_surest_readings_whose_mean_confidence_reaches_the_target():
    conf = [0.5, 0.999, 0.99, 0.98, 0.97, 0.9]
    got = expected_threshold(conf, 0.98)
    # Means of the surest 1..6: 0.999, 0.9945, 0.9897, 0.9848, 0.9678, ...: the first four reach 0.98.
    assert got["threshold"] == 0.97 and got["expected_precision"] == pytest.approx(
        (0.999 + 0.99 + 0.98 + 0.97) / 4
    )
    assert expected_threshold(conf, 0.9999)["threshold"] == math.inf
    assert expected_threshold([], 0.9)["threshold"] == math.inf
    # A tie is kept whole or not at all: with the three 0.9s the mean (0.925) misses the target.
    tied = expected_threshold([1.0, 0.9, 0.9, 0.9], 0.95)
    assert tied["threshold"] == 1.0 and tied["expected_precision"] == 1.0


def test_with_upper_a_precision_the_validation_readings_do_not_contradict_is_enough():
    # 19 of 20 right at every cut that keeps 5 or more: 0.95, yet its Wilson interval (0.76-0.99) holds 0.99.
    conf = [0.99 - 0.01 * i for i in range(20)]
    right = [True] * 3 + [False] + [True] * 16
    assert pick_threshold(conf, right, 0.99, min_above=5)["threshold"] == math.inf
    loose = pick_threshold(conf, right, 0.99, min_above=5, upper=True)
    assert (
        loose["threshold"] == pytest.approx(0.8)
        and loose["val_precision"] == 0.95
        and loose["val_above"] == 20
    )
    # Two mistakes among the surest ten contradict 0.99 (upper end 0.94): only the cut above them is left.
    two = [True, False, True, True, False] + [True] * 15
    got = pick_threshold(conf, two, 0.99, min_above=1, upper=True)
    assert got["threshold"] == 0.99 and got["val_above"] == 1


@pytest.fixture(scope="module")
def nothing_kept(folders, tmp_path_factory):
    _, labelled, unlabelled, _, _ = folders
    root = tmp_path_factory.mktemp("nothing-kept")
    solver = My_CaptchaSolver_Model(
        model_dir=root / "model",
        overrides={
            **QUIET,
            "training.budget_minutes": 4,
            "training.self_training_rounds": 3,
            "training.pseudo_label_precision": 1.0,  # no mean confidence of a classical reader reaches 1
            "paths.log_file": str(root / "log_file.log"),
        },
        results_csv=root / "results.csv",
    )
    solver.train(labelled, progress=False, unlabelled=unlabelled)
    return load_manifest(root / "model")


def test_a_round_that_keeps_nothing_ends_self_training(nothing_kept):
    section = nothing_kept.self_training
    (only,) = section.rounds
    assert only["kept"] == 0 and only["threshold"] is None
    assert (
        section.extra["stopped"] == "round 1 kept no pseudo-label" and section.extra["published_round"] == 0
    )


def test_a_pseudo_label_must_fit_the_labels():
    assert fits_labels("ab12", "12ab", {"4": 10})
    assert not fits_labels("ab12", "12ab", {"5": 10})  # a length no label has
    assert not fits_labels("ab1Z", "12ab", {"4": 10})  # a character no label uses
    assert not fits_labels("", "12ab", {"0": 1})


def test_settings_default_to_no_self_training():
    cfg = Config()
    assert cfg.training.unlabelled == "" and cfg.training.pseudo_label_precision == 0.99
    with pytest.raises(ValueError, match="pseudo_label_precision"):
        apply_overrides(cfg, {"training.pseudo_label_precision": 0.2})


def test_views_shift_and_scale_the_captcha_and_keep_its_shape():
    rgb = np.full((50, 200, 3), 255, np.uint8)
    rgb[:, 150] = 0  # one dark column, 50 px right of the centre
    views = augmented_views(rgb)
    assert len(views) == VIEWS == 4
    assert all(v.shape == rgb.shape and v.dtype == np.uint8 for v in views)
    darkest = [int(np.argmin(v[25, :, 0])) for v in views]
    # Shifted 3 px left and right; squeezed 8% towards the centre and stretched 8% away from it.
    assert darkest[:2] == [147, 153] and darkest[2] == 146 and darkest[3] == 154


class _ViewSensitiveModel:
    """Reads ``ab12`` in every picture, except the views of a file named ``unsteady``, read ``ab1``."""

    def decode(self, path, name=None):
        if "broken" in path:
            raise ImageDecodeError(path, "truncated")
        self.picture, self.unsteady = np.zeros((50, 200, 3), np.uint8), "unsteady" in path
        return self.picture

    def read(self, rgb):
        moved = rgb is not self.picture
        return SimpleNamespace(text="ab1" if moved and self.unsteady else "ab12", confidence=0.999)


def test_a_reading_that_its_views_contradict_is_not_a_candidate():
    readings, failed = _read(
        _ViewSensitiveModel(), ["steady.png", "unsteady.png", "broken.png"], "12ab", {"4": 1}
    )
    assert [(r.path, r.fits, r.steady) for r in readings] == [
        ("steady.png", True, True),
        ("unsteady.png", True, False),
    ]
    assert failed == [("broken.png", "broken.png: truncated")]  # named with the reason, not a reading
