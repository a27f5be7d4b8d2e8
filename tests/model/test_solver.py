"""My_CaptchaSolver_Model and its CLI, end to end on the project's own captchas."""

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from captcha_solver.artifacts import ModelFolderError, load_manifest
from captcha_solver.cli import cli
from captcha_solver.solver import My_CaptchaSolver_Model
from tests.pngs import black_png

QUIET = {"logging.console": False, "tracking.wandb_mode": "disabled", "training.reader": "classical"}


def _solver(model_dir, tmp_path, **overrides):
    o = dict(QUIET, **{"paths.log_file": str(tmp_path / "log_file.log")}, **overrides)
    return My_CaptchaSolver_Model(model_dir=model_dir, overrides=o, results_csv=tmp_path / "results.csv")


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_manifest_is_complete_and_checked(trained_model_dir):
    manifest = load_manifest(trained_model_dir)
    assert manifest["charset"] and manifest["class_columns"]
    assert set(manifest["artifacts"]) == {"glyph_classifier.onnx"}
    assert manifest["onnx_parity_max_abs_diff"] < 1e-3
    assert manifest["training_data"]["sha256"] and manifest["training_data"]["images"] >= 100
    assert {"numpy", "onnxruntime", "python"} <= set(manifest["versions"])
    assert "logreg" in manifest["classifier"]["comparison"]
    assert 0.0 <= manifest["metrics"]["val_exact"] <= 1.0


def test_tampered_artifact_is_refused(trained_model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(trained_model_dir, copy)
    with open(copy / "glyph_classifier.onnx", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelFolderError, match=r"glyph_classifier.onnx: sha256 .* does not match"):
        load_manifest(copy)


def test_untrained_model_says_how_to_fix(tmp_path):
    solver = _solver(tmp_path / "empty", tmp_path)
    with pytest.raises(RuntimeError, match="not trained yet.*Call 'train'"):
        solver.predict_row(np.zeros((50, 100, 3), np.uint8))


def test_predict_reads_captchas_and_logs_rows(trained_model_dir, captcha_dir, tmp_path):
    solver = _solver(trained_model_dir, tmp_path)
    files = sorted(captcha_dir.glob("*.png"))[:20]
    rows = [solver.predict_row(p) for p in files]
    # Trained on these very captchas: it must read nearly all of them.
    correct = sum(r["prediction"] == p.stem for r, p in zip(rows, files))
    assert correct >= 17
    row = rows[0]
    assert row["status"] == "ok" and row["reader"] == "classical"
    assert len(row["char_confidences"]) == len(row["prediction"]) == len(row["boxes"])
    assert 0.0 <= row["confidence"] <= 1.0 and row["latency_ms"] > 0
    logged = _rows(tmp_path / "results.csv")
    assert [Path(r["file"]).name for r in logged] == [p.name for p in files]
    assert {"file", "prediction", "confidence", "latency_ms", "status", "error"} <= set(logged[0])


def test_predict_accepts_arrays_and_bytes(trained_model_dir, captcha_dir, tmp_path):
    solver = _solver(trained_model_dir, tmp_path)
    path = sorted(captcha_dir.glob("*.png"))[0]
    from_path = solver.predict_row(path)["prediction"]
    rgb = np.asarray(Image.open(path).convert("RGB"))
    assert solver.predict_row(rgb)["prediction"] == from_path
    assert solver.predict_row(path.read_bytes(), name="upload")["prediction"] == from_path


@pytest.fixture()
def messy_dir(captcha_dir, tmp_path):
    """Good captchas, odd but valid modes of one of them, and every kind of bad file."""
    folder = tmp_path / "messy"
    folder.mkdir()
    good = sorted(captcha_dir.glob("*.png"))[:3]
    for p in good:
        shutil.copy(p, folder / p.name)
    source = Image.open(good[0])
    rgb = np.asarray(source.convert("RGB"))
    Image.fromarray((rgb.astype(np.uint16) * 257)[..., 0]).save(folder / "grey16.png")  # 16-bit grey
    source.convert("RGB").quantize(256).save(folder / "palette.png")
    source.convert("L").save(folder / "grey.png")
    source.save(folder / "rgba.png")  # the generator's own RGBA
    (folder / "notes.png").write_text("this is not an image")
    (folder / "zero.png").write_bytes(b"")
    data = (captcha_dir / good[1].name).read_bytes()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    (folder / "huge.png").write_bytes(black_png(20000))
    (folder / "captcha.xyz").write_bytes(b"whatever")
    (folder / "nested").mkdir()
    shutil.copy(good[2], folder / "nested" / good[2].name)
    return folder, good


def test_bad_input_gets_error_rows_and_the_run_goes_on(trained_model_dir, messy_dir, tmp_path):
    folder, good = messy_dir
    solver = _solver(trained_model_dir, tmp_path)
    rows = {Path(r["file"]).name: r for r in solver.predict_dataset(folder, workers=1, progress=False)}
    logged = _rows(tmp_path / "results.csv")
    assert len(logged) == len(rows) == 13  # one row per entry, nothing lost
    expected_errors = {
        "notes.png": "not a PNG, JPEG",
        "zero.png": "empty file",
        "truncated.png": "truncat",
        "huge.png": "20000x20000",
        "captcha.xyz": ".xyz",
        "nested": "nested folders are not read",
    }
    for name, fragment in expected_errors.items():
        assert rows[name]["status"] == "error", name
        assert fragment.lower() in rows[name]["error"].lower(), (name, rows[name]["error"])
        assert name in rows[name]["error"]
    # Valid images in odd modes are read, not refused: the generator's own
    # captchas are RGBA, and the text survives the conversions.
    reference = solver.predict_row(good[0], log_result=False)["prediction"]
    for name in ("grey16.png", "palette.png", "grey.png", "rgba.png"):
        assert rows[name]["status"] == "ok", (name, rows[name]["error"])
    # RGBA drops its alpha and 16-bit grey (the red channel) scales to 8 bits:
    # both give back the pixels the reader saw. Luminance grey and a
    # 256-colour palette change the contrast, so only their reading is asked.
    assert rows["rgba.png"]["prediction"] == reference
    assert rows["grey16.png"]["prediction"] == reference
    for p in good:
        assert rows[p.name]["status"] == "ok"
    log_text = (tmp_path / "log_file.log").read_text()
    assert "truncated.png" in log_text and "zero.png" in log_text


def _invoke(args, tmp_path):
    sets = []
    for k, v in dict(QUIET, **{"paths.log_file": str(tmp_path / "cli.log")}).items():
        sets += ["--set", f"{k}={v}"]
    return CliRunner().invoke(cli, sets + args, catch_exceptions=False)


def test_cli_predict_labelled_folder_prints_accuracy(trained_model_dir, captcha_dir, tmp_path):
    folder = tmp_path / "few"
    folder.mkdir()
    for p in sorted(captcha_dir.glob("*.png"))[:8]:
        shutil.copy(p, folder / p.name)
    out = tmp_path / "out.csv"
    result = _invoke(
        [
            "predict",
            "--dataset",
            str(folder),
            "--model-dir",
            str(trained_model_dir),
            "--results",
            str(out),
            "--workers",
            "2",
        ],
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    assert "exact accuracy" in result.output and "CER" in result.output
    assert len(_rows(out)) == 8


def test_cli_predict_single_image_and_usage_errors(trained_model_dir, captcha_dir, tmp_path):
    image = sorted(captcha_dir.glob("*.png"))[0]
    out = tmp_path / "one.csv"
    ok = _invoke(
        ["predict", "--image", str(image), "--model-dir", str(trained_model_dir), "--results", str(out)],
        tmp_path,
    )
    assert ok.exit_code == 0 and image.name in ok.output
    both = _invoke(["predict", "--model-dir", str(trained_model_dir)], tmp_path)
    assert both.exit_code != 0 and "exactly one of --dataset DIR or --image FILE" in both.output


@pytest.mark.parametrize("kind", ["missing", "empty", "file"])
def test_cli_folder_errors_are_clear(trained_model_dir, tmp_path, kind):
    target = tmp_path / "data_in"
    if kind == "empty":
        target.mkdir()
    elif kind == "file":
        target.write_text("x")
    result = _invoke(["predict", "--dataset", str(target), "--model-dir", str(trained_model_dir)], tmp_path)
    assert result.exit_code == 1
    assert str(target) in result.output or target.name in result.output
    assert {"missing": "not found", "empty": "no", "file": "is a file"}[kind] in result.output.lower()


def test_cli_bad_config_value_is_named(tmp_path):
    result = _invoke(["--set", "segmentation.threshold_ratio=1.7", "predict", "--image", "x.png"], tmp_path)
    assert result.exit_code != 0
    assert "segmentation.threshold_ratio = 1.7 is invalid" in result.output


def test_evaluate_reports_everything(trained_model_dir, captcha_dir, tmp_path):
    folder = tmp_path / "eval"
    folder.mkdir()
    for p in sorted(captcha_dir.glob("*.png"))[:12]:
        shutil.copy(p, folder / p.name)
    report_path = tmp_path / "report.json"
    result = _invoke(
        [
            "evaluate",
            "--dataset",
            str(folder),
            "--model-dir",
            str(trained_model_dir),
            "--results",
            str(tmp_path / "e.csv"),
            "--workers",
            "1",
            "--json-out",
            str(report_path),
        ],
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    for key in (
        "exact_accuracy",
        "character_accuracy",
        "cer",
        "confused_pairs",
        "per_character_accuracy",
        "glyph_macro_roc_auc",
        "segmentation_yield",
        "plain_segmentation_yield",
    ):
        assert key in report
    assert report["n"] == 12 and 0.5 < report["glyph_macro_roc_auc"] <= 1.0


def test_train_skips_and_reports_unlabelled_and_unsegmentable(captcha_dir, tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    for p in sorted(captcha_dir.glob("*.png"))[:60]:
        shutil.copy(p, folder / p.name)
    Image.new("RGB", (720, 300), (5, 20, 30)).save(folder / "Blank9.png")  # labelled, but no text in it
    shutil.copy(sorted(captcha_dir.glob("*.png"))[70], folder / "IMG 0001.png")  # not a label
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    solver = _solver(
        tmp_path / "model",
        tmp_path,
        **{
            "classifier.candidates": ["logreg"],
            "training.min_images": 10,
            "training.validation_fraction": 0.1,
        },
    )
    solver.train(folder, progress=False)
    skipped = {Path(p).name: reason for p, reason in solver.skipped_}
    assert "IMG 0001.png" in skipped and "not a label" in skipped["IMG 0001.png"]
    assert "Blank9.png" in skipped
    assert "broken.png" in skipped
    assert (tmp_path / "model" / "manifest.json").is_file()
    assert "skipped" in (tmp_path / "log_file.log").read_text()


def test_train_refuses_too_few_images(captcha_dir, tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    for p in sorted(captcha_dir.glob("*.png"))[:5]:
        shutil.copy(p, folder / p.name)
    solver = _solver(tmp_path / "model", tmp_path)
    with pytest.raises(ValueError, match="5 labelled images, training needs at least 20"):
        solver.train(folder, progress=False)
    assert not (tmp_path / "model").exists()


def test_the_old_tune_routing_name_runs_tune_fusion_with_a_warning():
    old = CliRunner().invoke(cli, ["tune-routing", "--help"])
    new = CliRunner().invoke(cli, ["tune-fusion", "--help"])
    assert old.exit_code == new.exit_code == 0
    assert "'tune-routing' is now 'tune-fusion'" in old.stderr
    assert "tune-routing" not in CliRunner().invoke(cli, ["--help"]).stdout  # not listed
    assert old.stdout.replace("tune-routing", "tune-fusion") == new.stdout
