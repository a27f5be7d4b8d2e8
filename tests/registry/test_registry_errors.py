"""Bad references, broken versions and a failed registration: clear errors, nothing lost."""

from __future__ import annotations

import shutil

import pytest
from registry_helpers import registry_overrides

from captcha_solver.inference import shipped_model_dir
from captcha_solver.registry import Registry, RegistryError, version_tags
from captcha_solver.settings import Config, apply_overrides
from captcha_solver.solver import My_CaptchaSolver_Model


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory):
    """A registry with version 1 (the shipped model) and version 2 whose stored files were damaged after upload."""
    from captcha_solver.artifacts import load_manifest

    root = tmp_path_factory.mktemp("registry-errors")
    config = apply_overrides(Config(), registry_overrides(root))
    registry = Registry(config.registry)
    folder = shipped_model_dir()
    manifest = load_manifest(folder)
    registry.register(folder, tags=version_tags(manifest, folder), description="seed", metrics={})
    info = registry.register(folder, tags=version_tags(manifest, folder), description="damaged", metrics={})
    stored = root / "reg" / "artifacts" / info.run_id / "artifacts" / "model" / "glyph_classifier.onnx"
    stored.write_bytes(stored.read_bytes()[:-100])  # a truncated upload
    return root, config, registry


@pytest.mark.parametrize(
    "ref, says",
    [
        ("models:/nope@champion", "models:/nope@champion: not found"),
        ("models:/captcha-solver/9", "version 9 of model 'captcha-solver': not found"),
        ("models:/captcha-solver@staging", "models:/captcha-solver@staging: not found"),
        ("models:/bad name!/1", "model name 'bad name!' is not valid"),
    ],
)
def test_unknown_references_name_the_value(two_versions, ref, says):
    root, config, registry = two_versions
    with pytest.raises(RegistryError, match=says):
        registry.resolve(ref)
    with pytest.raises(RegistryError, match=says):
        My_CaptchaSolver_Model(ref, config).load()


def test_a_broken_version_is_refused_and_nothing_is_cached(two_versions):
    root, config, registry = two_versions
    with pytest.raises(RegistryError, match=r"models:/captcha-solver/2 is broken: .*glyph_classifier.onnx"):
        registry.resolve("2")
    cache = root / "reg" / "cache" / "captcha-solver"
    assert not (cache / "2").exists() and not [p for p in cache.iterdir() if p.name.startswith(".2.")]
    folder, info = registry.resolve("models:/captcha-solver@champion")
    assert folder == cache / "1" and info.label == "models:/captcha-solver/1"


def test_the_cache_is_checked_and_never_overwritten_when_not_ours(two_versions):
    root, config, registry = two_versions
    folder, _ = registry.resolve("1")
    again, _ = registry.resolve("1")  # downloaded once
    assert again == folder
    # A damaged copy of ours (it has a manifest) is fetched again.
    (folder / "glyph_classifier.onnx").write_bytes(b"damaged")
    fixed, _ = registry.resolve("1")
    assert (fixed / "glyph_classifier.onnx").stat().st_size > 1000
    # Something else at the version's place is left alone, with an error naming it.
    shutil.rmtree(folder)
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(RegistryError, match=f"cache folder {folder} .* not a model"):
        registry.resolve("1")
    assert (folder / "notes.txt").read_text() == "mine"
    shutil.rmtree(folder)  # the cache is missing: downloaded again
    assert registry.resolve("1")[0] == folder


def test_training_into_a_reference_is_refused(two_versions):
    root, config, _ = two_versions
    with pytest.raises(
        ValueError, match="cannot train into the registry reference models:/captcha-solver@champion"
    ):
        My_CaptchaSolver_Model("models:/captcha-solver@champion", config).train(root)


def test_a_failed_registration_keeps_the_trained_model(tmp_path, captcha_dir):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the registry folder should be")
    overrides = registry_overrides(tmp_path)
    overrides["registry.uri"] = f"sqlite:///{blocker}/mlflow.db"
    solver = My_CaptchaSolver_Model(tmp_path / "model", overrides=overrides)
    data = tmp_path / "data"
    data.mkdir()
    for path in sorted(captcha_dir.iterdir())[:24]:
        shutil.copy(path, data / path.name)
    solver.train(data, progress=False)
    assert solver.registered_ is None
    assert (tmp_path / "model" / "manifest.json").is_file() and solver.loaded
    log = (tmp_path / "log_file.log").read_text()
    assert "is published but was not registered" in log and str(blocker) in log
    assert blocker.read_text().startswith("a file")


@pytest.mark.parametrize("command", ["serve", "ui"])
def test_serve_and_ui_refuse_an_unknown_reference_cleanly(two_versions, command, tmp_path):
    from click.testing import CliRunner
    from registry_helpers import config_file

    from captcha_solver.cli import cli

    root, config, _ = two_versions
    path = config_file(tmp_path, registry_overrides(root))
    done = CliRunner().invoke(
        cli, ["--config", str(path), command, "--model", "models:/captcha-solver@nobody"]
    )
    assert done.exit_code == 1 and "models:/captcha-solver@nobody: not found" in done.output
    both = CliRunner().invoke(cli, ["--config", str(path), command, "--model", "1", "--model-dir", "x"])
    assert both.exit_code == 2 and "not both" in both.output
