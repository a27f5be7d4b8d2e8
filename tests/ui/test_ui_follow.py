"""The UI started on a registry alias follows it like the API: new version loaded aside, then swapped in."""

from __future__ import annotations

from captcha_solver.artifacts import load_manifest
from captcha_solver.inference import shipped_model_dir
from captcha_solver.registry import Registry, version_tags
from captcha_solver.settings import Config, apply_overrides
from captcha_solver.ui.app import SolverSession


def test_session_follows_the_champion(tmp_path, captcha_dir):
    config = apply_overrides(
        Config(),
        {
            "registry.uri": f"sqlite:///{tmp_path}/mlflow.db",
            "registry.artifacts_dir": str(tmp_path / "artifacts"),
            "registry.cache_dir": str(tmp_path / "cache"),
            "registry.poll_seconds": 3600,  # checked by hand below
            "paths.log_file": str(tmp_path / "log_file.log"),
            "paths.results_csv": str(tmp_path / "results.csv"),
            "logging.console": False,
        },
    )
    registry = Registry(config.registry)
    folder = shipped_model_dir()
    for _ in range(2):
        registry.register(
            folder, tags=version_tags(load_manifest(folder), folder), description="", metrics={}
        )
    session = SolverSession(config, tmp_path / "config.yaml", model_dir="models:/captcha-solver@champion")
    try:
        assert session.solver.model_version == "models:/captcha-solver/1"
        before = session.solver
        image = sorted(captcha_dir.glob("*.png"))[0]
        registry.promote(2)
        assert session.follower.check() is True
        assert session.solver is not before and session.solver.model_version == "models:/captcha-solver/2"
        text, confidence, picture, details = session.predict(str(image))
        assert text == image.stem and picture is not None
    finally:
        session.follower.stop()


def test_session_on_a_folder_does_not_follow(tmp_path):
    config = apply_overrides(
        Config(),
        {
            "paths.log_file": str(tmp_path / "log"),
            "paths.results_csv": str(tmp_path / "r.csv"),
            "logging.console": False,
        },
    )
    session = SolverSession(config, tmp_path / "config.yaml", model_dir=shipped_model_dir())
    assert session.follower is None and session.solver.model_version.startswith("folder:")
