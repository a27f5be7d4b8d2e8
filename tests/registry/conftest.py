"""A registry in a temp folder with three versions: two tiny trainings (registered by ``train``) and the shipped model."""

from __future__ import annotations

import pytest
from registry_helpers import config_file, registry_overrides

from captcha_solver.inference import shipped_model_dir


@pytest.fixture(scope="module")
def populated(tmp_path_factory):
    """``(root, config, config_path)`` of a registry holding versions 1-3.

    Versions 1 and 2 come from two trainings on 20 generated captchas each (the first
    becomes champion, the second challenger); version 3 is the shipped model, registered
    with ``models register`` (challenger). A 20-captcha model knows only the characters
    it saw, so it reads fewer captchas of a fresh folder right than the shipped model.
    """
    from click.testing import CliRunner

    from captcha_solver.cli import cli
    from captcha_solver.generator import generate_dataset
    from captcha_solver.settings import Config, apply_overrides
    from captcha_solver.solver import My_CaptchaSolver_Model

    root = tmp_path_factory.mktemp("registry")
    overrides = registry_overrides(root)
    config = apply_overrides(Config(), overrides)
    for seed in (1, 2):
        data = generate_dataset(root / f"train{seed}", 20, seed=seed, workers=1)
        assert data
        solver = My_CaptchaSolver_Model(root / f"model{seed}", config)
        solver.train(root / f"train{seed}", progress=False)
        assert solver.registered_ is not None and solver.registered_.version == seed
    path = config_file(root, overrides)
    result = CliRunner().invoke(cli, ["--config", str(path), "models", "register", str(shipped_model_dir())])
    assert result.exit_code == 0, result.output
    generate_dataset(root / "gate", 30, seed=99, workers=1)
    return root, config, path
