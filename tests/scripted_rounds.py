"""Self-training with scripted readers (a path's text and confidence) standing in for trained models.

A consistent confusion of the first model (``u0`` read :data:`CONFUSED`) is planted so that the second
opinion's rule can be checked exactly, and each round's validation figure is scripted so that the choice of
the published round can be.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np

import captcha_solver.training._self_training as st
from captcha_solver.artifacts import NEURAL_MODEL
from captcha_solver.settings import Config, apply_overrides
from captcha_solver.training._self_training import Round, self_train

VAL = ["ab12", "ba21", "a1b2", "b2a1", "12ab", "21ba"]
POOL_TRUTH = ["ab21", "ba12", "a2b1", "b1a2", "1a2b", "2b1a"]
CONFUSED = "aa21"  # the first model's consistent misreading of u0


class Scripted:
    """Reads each file as its script says, the same in every augmented view, at confidence 0.999."""

    def __init__(self, script: dict[str, str]):
        self.script = script

    def decode(self, path, name=None):
        self.text = self.script[Path(path).name]
        return np.zeros((50, 200, 3), np.uint8)

    def read(self, rgb):
        return SimpleNamespace(text=self.text, confidence=0.999)


def scripted_files(folder: Path) -> tuple[Path, list[str], list[str]]:
    """Validation captchas named by their text and unlabelled ``u<i>.png`` files in ``folder``."""
    val = []
    for text in VAL:
        (folder / f"{text}.png").write_bytes(b"v")
        val.append(str(folder / f"{text}.png"))
    pool = []
    for i in range(len(POOL_TRUTH)):
        (folder / f"u{i}.png").write_bytes(b"u")
        pool.append(str(folder / f"u{i}.png"))
    return folder, val, pool


def scripted_round(name: str, val_exact: float, seconds: float = 60.0) -> Round:
    """A trained round whose readers the scripts name and whose validation exact accuracy is ``val_exact``."""
    draft = {
        "name": name,
        "labels": {"charset": "12ab", "lengths": {"4": 6}},
        "metrics": {"val_exact": val_exact},
    }
    return Round(draft, {NEURAL_MODEL: Path(f"/nowhere/{name}/{NEURAL_MODEL}")}, seconds=seconds)


def run_scripted(
    files, monkeypatch, *, left: float = 10_000.0, neural: bool = True, round_vals=(1.0,), **settings
) -> tuple[Round, dict, list[dict]]:
    """self_train with scripted models: the first confuses u0, the second and the rounds read all right.

    Round ``k`` (1, 2, ...) validates at ``round_vals[k - 1]``, the first model at 1.0. Returns the published
    round, the manifest's section and each training call (its paths, share, start and setting changes).
    """
    root, val, pool = files
    right = {f"{t}.png": t for t in VAL} | {f"u{i}.png": t for i, t in enumerate(POOL_TRUTH)}
    scripts = {"first": {**right, "u0.png": CONFUSED}, "second": right}
    monkeypatch.setattr(
        st, "_model", lambda trained, cfg: Scripted(scripts.get(trained.draft["name"], right))
    )
    calls = []

    def train_round(paths, share=1.0, init_from=None, merged=None, changes=None):
        changes = changes or {}
        calls.append({"paths": list(paths), "share": share, "init_from": init_from, **changes})
        if changes:
            return scripted_round("second", 1.0)
        number = sum("training.seed" not in c for c in calls)
        return scripted_round(f"round-{number}", round_vals[number - 1])

    cfg = apply_overrides(
        Config(),
        {
            "training.pseudo_label_precision": 0.9,
            "training.self_training_rounds": len(round_vals),
            "neural.epochs": 750,  # the plan's, as train_model passes it
            **settings,
        },
    )
    first = scripted_round("first", 1.0)
    if not neural:  # a classical-only model
        first.files = {}
    published, section, _ = self_train(
        first, train_round, labelled_train=["x.png"], val_paths=val, unlabelled=pool, cfg=cfg,
        seconds_left=lambda: left, work=root / "work", logger=logging.getLogger("test-self-training"),
    )  # fmt: skip
    return published, section, calls
