"""The ImageCaptcha-style benchmark data: labelled files that repeat with the seed."""

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("captcha")  # a test/benchmark dependency (dev extra), never a runtime one

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _digests(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_pictures_other_seed_other_ones(tmp_path):
    style = _load("imagecaptcha_style")
    assert style.main(["--out", str(tmp_path / "a"), "--count", "12", "--seed", "3"]) == 0
    assert style.main(["--out", str(tmp_path / "b"), "--count", "12", "--seed", "3"]) == 0
    style.main(["--out", str(tmp_path / "c"), "--count", "12", "--seed", "4"])
    a = _digests(tmp_path / "a")
    assert len(a) == 12 and a == _digests(tmp_path / "b")
    assert set(a).isdisjoint(_digests(tmp_path / "c"))
    for name in a:  # digits and upper case, length 4-6, the label in the name
        stem = name[: -len(".png")]
        assert 4 <= len(stem) <= 6 and stem.isalnum() and stem == stem.upper()


def test_zero_oh_glyphs_are_drawn_alike_and_repeat(tmp_path):
    zero_oh = _load("imagecaptcha_zero_oh")
    x, y = zero_oh.draw_glyphs(40, seed=1)
    x2, y2 = zero_oh.draw_glyphs(40, seed=1)
    assert x.shape == (40, 1, 60, 64) and np.array_equal(x, x2) and np.array_equal(y, y2)
    assert 0 < y.sum() < 40 and 0.0 <= x.min() and x.max() <= 1.0
    # Outlines of about the same width whatever the glyph: the package stretches both to one cell.
    widths = [np.ptp(np.flatnonzero(g[0].max(axis=0) > 0.5)) + 1 for g in x]
    mean_0 = np.mean([w for w, o in zip(widths, y) if not o])
    mean_o = np.mean([w for w, o in zip(widths, y) if o])
    assert abs(mean_0 - mean_o) < 0.15 * mean_o
