"""Every predict and evaluate run is summed up in the log file: what, on what, which model, files, errors, accuracy."""

from __future__ import annotations

import shutil

from click.testing import CliRunner

from captcha_solver.cli import cli


def _run(args, tmp_path, model_dir):
    log = tmp_path / "log_file.log"
    sets = [
        "--set",
        f"paths.log_file={log}",
        "--set",
        f"paths.results_csv={tmp_path / 'results.csv'}",
        "--set",
        "logging.console=false",
    ]
    result = CliRunner().invoke(cli, [*sets, *args, "--model-dir", str(model_dir), "--workers", "1"])
    assert result.exit_code == 0, result.output
    return log.read_text(encoding="utf-8")


def test_predict_run_of_20_captchas_is_logged(tmp_path, captcha_dir, trained_model_dir):
    folder = tmp_path / "twenty"
    folder.mkdir()
    for path in sorted(captcha_dir.glob("*.png"))[:20]:
        shutil.copy(path, folder / path.name)
    (folder / "not-a-label.png").write_bytes(b"not a png")
    text = _run(["predict", "--dataset", str(folder)], tmp_path, trained_model_dir)
    (line,) = [line for line in text.splitlines() if "predict: " in line]
    assert str(folder) in line and str(trained_model_dir) in line and "classical" in line
    assert "21 files, 1 errors" in line
    # not-a-label.png is no label, so the folder is not all labelled: no accuracy is claimed.
    assert "accuracy" not in line
    assert "not-a-label.png" in text  # the error itself is logged too


def test_labelled_predict_and_evaluate_log_their_accuracy(tmp_path, captcha_dir, trained_model_dir):
    folder = tmp_path / "eight"
    folder.mkdir()
    for path in sorted(captcha_dir.glob("*.png"))[:8]:
        shutil.copy(path, folder / path.name)
    text = _run(["predict", "--dataset", str(folder)], tmp_path, trained_model_dir)
    assert "8 files, 0 errors, exact accuracy" in text
    text = _run(["evaluate", "--dataset", str(folder)], tmp_path, trained_model_dir)
    (line,) = [line for line in text.splitlines() if "evaluate: " in line]
    assert "exact accuracy" in line and "on 8 labelled images" in line


def test_predict_reads_the_config_named_by_the_environment(
    tmp_path, captcha_dir, trained_model_dir, monkeypatch
):
    """predict follows the same rule as serve and ui: --config > $CAPTCHA_SOLVER_CONFIG > ./config.yaml."""
    results = tmp_path / "from-env.csv"
    config = tmp_path / "env-config.yaml"
    config.write_text(
        f"paths:\n  results_csv: {results}\n  log_file: {tmp_path / 'env.log'}\nlogging:\n  console: false\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CAPTCHA_SOLVER_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    image = sorted(captcha_dir.glob("*.png"))[0]
    args = ["predict", "--image", str(image), "--model-dir", str(trained_model_dir)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert results.is_file() and image.name in results.read_text(encoding="utf-8")
    # An explicit --config wins over the environment.
    other = tmp_path / "flag.yaml"
    other.write_text(
        f"paths:\n  results_csv: {tmp_path / 'flag.csv'}\nlogging:\n  console: false\n", encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["--config", str(other), *args])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "flag.csv").is_file()
