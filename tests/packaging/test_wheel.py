"""The built wheel installs with pip in a fresh virtualenv and predicts with the model it carries."""

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kwargs)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


SHIPPED = ROOT / "captcha_solver" / "shipped_model"


def _top_level_names(wheel: Path) -> set[str]:
    """What the wheel puts directly into site-packages (its .dist-info folder aside)."""
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    return {t for t in tops if not t.endswith(".dist-info")}


@pytest.mark.skipif(not (SHIPPED / "manifest.json").is_file(), reason="no shipped model to package")
def test_wheel_installs_and_predicts_with_its_model(tmp_path):
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)])
    wheels = list(dist.glob("captcha_solver-*.whl"))
    assert len(wheels) == 1
    # Three import names and nothing else: no loose config.yaml, model/ or generic packages.
    assert _top_level_names(wheels[0]) == {"captcha_solver", "segmentation", "features"}
    with zipfile.ZipFile(wheels[0]) as archive:
        names = set(archive.namelist())
    assert "captcha_solver/shipped_model/manifest.json" in names
    assert any(n.startswith("captcha_solver/generator/fonts/") and n.endswith(".ttf") for n in names)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    # Inference dependencies only: the wheel must not need scikit-learn or torch to predict.
    _run([str(py), "-m", "pip", "install", "-q", str(wheels[0])])
    listed = _run([str(py), "-m", "pip", "list", "--format=freeze"]).stdout.lower()
    assert "scikit-learn" not in listed and "torch" not in listed
    work = tmp_path / "work"  # an empty working directory: no ./model, no ./config.yaml
    work.mkdir()
    script = env_dir / "bin" / "captcha-solver"
    env = dict(os.environ, WANDB_MODE="disabled")
    _run([str(script), "generate", "--out", "caps", "--count", "6", "--seed", "5"], cwd=work, env=env)
    out = _run([str(script), "predict", "--dataset", "caps"], cwd=work, env=env).stdout
    assert "exact accuracy" in out and "6 rows appended" in out
    assert (work / "data" / "results.csv").is_file() and (work / "data" / "log_file.log").is_file()
    one = sorted((work / "caps").iterdir())[0]
    single = _run([str(script), "predict", "--image", str(one.relative_to(work))], cwd=work, env=env).stdout
    assert single.startswith(one.name + "\t") and "1 rows appended" in single
    # The version the API reports is the installed distribution's.
    code = "import captcha_solver, importlib.metadata as m; print(captcha_solver.__version__ == m.version('captcha-solver'))"
    assert _run([str(py), "-c", code], cwd=work, env=env).stdout.strip() == "True"
    shutil.rmtree(env_dir)
