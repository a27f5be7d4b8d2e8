"""Shared fixtures: captchas from the project's own generator and a small trained model.

Nothing here reads ../shared: the data comes from the generator with its
procedural backgrounds and bundled font.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _registry_in_tmp(tmp_path_factory):
    """Every training registers a version: keep the registry (and its cache) out of the repository's data/.

    Relative ``registry.*`` paths resolve under ``$CAPTCHA_SOLVER_REGISTRY_HOME``, a session
    temp folder here (subprocesses inherit it); tests of the registry set their own paths.
    """
    import os

    from captcha_solver.registry import REGISTRY_HOME_ENV

    saved = os.environ.get(REGISTRY_HOME_ENV)
    os.environ[REGISTRY_HOME_ENV] = str(tmp_path_factory.mktemp("registry-home"))
    yield
    if saved is None:
        os.environ.pop(REGISTRY_HOME_ENV, None)
    else:
        os.environ[REGISTRY_HOME_ENV] = saved


@pytest.fixture(scope="session")
def captcha_dir(tmp_path_factory) -> Path:
    """160 labelled captchas (``<text>.png``) from the project's generator."""
    from captcha_solver.generator import generate_dataset

    out = tmp_path_factory.mktemp("captchas")
    generate_dataset(out, 160, seed=2024, workers=2)
    return out


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory, captcha_dir) -> Path:
    """A model trained on ``captcha_dir`` (logistic regression only, for speed)."""
    from captcha_solver.solver import My_CaptchaSolver_Model

    root = tmp_path_factory.mktemp("trained")
    solver = My_CaptchaSolver_Model(
        model_dir=root / "model",
        overrides={
            "classifier.candidates": ["logreg"],
            "training.reader": "classical",
            "paths.log_file": str(root / "log_file.log"),
            "paths.results_csv": str(root / "results.csv"),
            "tracking.wandb_mode": "disabled",
            "logging.console": False,
        },
    )
    solver.train(captcha_dir, progress=False)
    return root / "model"
