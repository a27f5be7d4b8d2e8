"""The labelling page's "Train" action: a tiny classical training on the answers, in the background,
taken only when it reads the run's validation captchas better, and published atomically."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from captcha_solver.image_io import label_from_path, split_dataset
from captcha_solver.settings import Config, apply_overrides
from captcha_solver.ui._label_desk import LabelFolder


def tiny_config(root: Path) -> Config:
    return apply_overrides(
        Config(),
        {
            "classifier.candidates": ["logreg"],
            "training.reader": "classical",
            "training.budget_minutes": 2,
            "registry.register_on_train": False,
            "paths.log_file": str(root / "log_file.log"),
            "paths.results_csv": str(root / "results.csv"),
            "tracking.wandb_mode": "disabled",
            "logging.console": False,
        },
    )


# Three tiny classical trainings (the page's model, a better one, the same again): ~75 s on 2 busy cores.
@pytest.mark.slow
def test_train_on_the_answers_publishes_only_a_better_model(captcha_dir, tmp_path, monkeypatch):
    from captcha_solver.solver import My_CaptchaSolver_Model
    from captcha_solver.ui._label_page import LabelBench
    from captcha_solver.ui.app import SolverSession

    monkeypatch.delenv("CAPTCHA_SOLVER_PUBLIC", raising=False)
    config = tiny_config(tmp_path)
    monkeypatch.setenv(config.serving.admin_token_env, "")
    files = sorted(captcha_dir.glob("*.png"))
    # The page's model: trained on the fewest captchas training accepts, chosen to use many characters
    # (the page refuses answers with characters the model does not read).
    chosen, seen = [], set()
    for _ in range(20):
        best = max((p for p in files if p not in chosen), key=lambda p: (len(set(p.stem) - seen), p.name))
        chosen.append(best)
        seen |= set(best.stem)
    weak = tmp_path / "weak"
    weak.mkdir()
    for path in chosen:
        shutil.copyfile(path, weak / path.name)
    trained = My_CaptchaSolver_Model(model_dir=tmp_path / "model", config=config, quiet=True)
    charset = set(trained.train(weak, progress=False).charset)
    before = json.loads((tmp_path / "model" / "manifest.json").read_text())

    # 40 other captchas to label, answered with their true text.
    source = tmp_path / "captchas"
    source.mkdir()
    truth = {}
    others = [p for p in files if p not in chosen and set(p.stem) <= charset][:40]
    assert len(others) == 40
    for i, path in enumerate(others):
        shutil.copyfile(path, source / f"u{i:03d}.png")
        truth[f"u{i:03d}.png"] = label_from_path(path)
    bench = LabelBench(SolverSession(config, tmp_path / "config.yaml", model_dir=tmp_path / "model"))
    state = bench.open("", str(source))[0]
    desk: LabelFolder = bench.desk(state)
    for name, text in truth.items():
        desk.answer(name, text)

    message = bench.train("", state)
    assert message.startswith("Training on"), message
    assert bench.train("", state).startswith("Refused: a training run is already going on")
    bench.trainer.wait(120)
    assert not bench.trainer.running
    status = bench.trainer.status()
    assert "Training: done" in status, status
    result = bench.trainer.result

    # The rule, checked again here: both models on the run's validation captchas.
    (run,) = (desk.label_dir / "runs").iterdir()  # one run so far
    data = sorted(str(p) for p in (run / "data").iterdir())
    assert len(data) == 40
    manifest = json.loads((run / "model" / "manifest.json").read_text())
    recorded = manifest["config"]["training"]
    val = split_dataset(data, recorded["validation_fraction"], recorded["seed"])[1]
    assert result["validation"] == len(val) > 0
    new = My_CaptchaSolver_Model(model_dir=run / "model", config=config, quiet=True).load()
    old = My_CaptchaSolver_Model(model_dir=tmp_path / "model.prev", config=config, quiet=True).load()
    assert result["new_exact"] == sum(new.read(p).text == label_from_path(p) for p in val) / len(val)
    assert result["current_exact"] == sum(old.read(p).text == label_from_path(p) for p in val) / len(val)

    # 32 training captchas against 16: the new model reads better, so it is published and swapped in.
    assert result["new_exact"] > result["current_exact"] and result["taken"], status
    published = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert published["artifacts"] == manifest["artifacts"]
    assert (
        json.loads((tmp_path / "model.prev" / "manifest.json").read_text())["artifacts"]
        == before["artifacts"]
    )
    assert bench.session.solver.model_.manifest.artifacts == manifest["artifacts"]
    assert "published to" in status
    # The originals are where they were.
    assert sorted(p.name for p in source.iterdir()) == sorted(truth)

    # The same answers again: a model as good as the page's is not taken, and nothing is published.
    live = (tmp_path / "model" / "manifest.json").read_bytes()
    assert bench.train("", state).startswith("Training on")
    bench.trainer.wait(120)
    again = bench.trainer.result
    assert "Training: done" in bench.trainer.status() and not again["taken"]
    assert again["new_exact"] <= again["current_exact"]
    assert "keeps its model" in bench.trainer.status()
    assert (tmp_path / "model" / "manifest.json").read_bytes() == live
    assert len(list((desk.label_dir / "runs").iterdir())) == 2
