"""Registry references: the accepted forms, clear errors for the others, and no MLflow for a plain folder."""

from __future__ import annotations

import subprocess
import sys

import pytest

from captcha_solver.registry import ModelRef, RegistryError, is_registry_ref, model_argument, parse_ref


def test_reference_forms():
    assert parse_ref("models:/captcha-solver@champion", "x") == ModelRef("captcha-solver", alias="champion")
    assert parse_ref("models:/other/12", "x") == ModelRef("other", version=12)
    assert parse_ref("3", "captcha-solver") == ModelRef("captcha-solver", version=3)
    assert str(ModelRef("m", version=4)) == "models:/m/4"
    assert str(ModelRef("m", alias="challenger")) == "models:/m@challenger"


@pytest.mark.parametrize(
    "text, says",
    [
        ("models:/", "not understood"),
        ("models:/name", "not understood"),
        ("models:/name/latest", "'latest' is not a number"),
        ("models:/name/0", "'0' is not a number from 1"),
        ("models:/name@bad alias", "alias .bad alias. is not a valid alias name"),
        ("models:/name@9lives", "alias '9lives' is not a valid alias name"),
        ("0", "versions start at 1"),
    ],
)
def test_bad_references_name_the_value(text, says):
    with pytest.raises(RegistryError, match=says) as info:
        parse_ref(text, "captcha-solver")
    assert repr(text) in str(info.value)


def test_model_argument_and_folders(tmp_path, monkeypatch):
    assert is_registry_ref("models:/a@b") and not is_registry_ref("model") and not is_registry_ref("3")
    assert model_argument("3", "captcha-solver") == "models:/captcha-solver/3"
    assert model_argument("model", "captcha-solver") == "model"
    assert model_argument("models:/x@champion", "captcha-solver") == "models:/x@champion"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "7").mkdir()  # a folder named like a version stays a folder
    assert model_argument("7", "captcha-solver") == "7"


def test_reading_a_folder_never_imports_mlflow():
    code = (
        "import sys\n"
        "from captcha_solver.solver import My_CaptchaSolver_Model\n"
        "from captcha_solver.inference import shipped_model_dir\n"
        "m = My_CaptchaSolver_Model(shipped_model_dir(), overrides={'logging.console': False,"
        " 'paths.log_file': sys.argv[1] + '/log', 'paths.results_csv': sys.argv[1] + '/r.csv'}).load()\n"
        "assert m.model_version.startswith('folder:') and len(m.model_version) == 19, m.model_version\n"
        "assert 'mlflow' not in sys.modules\n"
    )
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-c", code, tmp], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
