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


def test_zero_oh_captcha_render_pastes_noises_and_repeats():
    zero_oh = _load("imagecaptcha_zero_oh")
    x, y = zero_oh.draw_glyphs(20, seed=2, render="captcha")
    x2, y2 = zero_oh.draw_glyphs(20, seed=2, render="captcha")
    clean, _ = zero_oh.draw_glyphs(20, seed=2)
    assert x.shape == clean.shape == (20, 1, 60, 64)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert 0.0 <= x.min() and x.max() <= 1.0
    # Ink in the middle, where the glyph is pasted, well above the page...
    assert all(g[20:40, 22:42].max() > g.min() + 0.2 for g in x[:, 0])
    # ...and, in most pictures, noise dots or the arc in the side strips no
    # glyph reaches (the clean masks sit at the left: their right strip is empty).
    noisy = [np.count_nonzero(np.hstack([g[:, :8], g[:, -8:]]) > g.min() + 0.2) > 0 for g in x[:, 0]]
    assert sum(noisy) >= 15
    assert np.count_nonzero(clean[:, 0, :, -8:] > 0.5) == 0


def test_zero_oh_line_render_centres_the_glyph_between_neighbours():
    zero_oh = _load("imagecaptcha_zero_oh")
    x, y = zero_oh.draw_glyphs(20, seed=4, render="line")
    x2, _ = zero_oh.draw_glyphs(20, seed=4, render="line")
    alone, _ = zero_oh.draw_glyphs(20, seed=4, render="captcha")
    assert x.shape == (20, 1, 60, 64) and np.array_equal(x, x2) and 0 < y.sum() < 20
    # The middle glyph is in the window's centre...
    assert all(g[20:40, 24:40].max() > np.median(g) + 0.2 for g in x[:, 0])

    # ...and the neighbours put more ink in the window than a glyph alone has.
    def ink(batch):
        return np.mean([np.count_nonzero(g > np.median(g) + 0.2) for g in batch[:, 0]])

    assert ink(x) > 1.3 * ink(alone)


def test_crops_bench_finds_the_frames_each_character_came_from():
    crops = _load("imagecaptcha_crops")

    def path(classes):
        lp = np.full((len(classes), 3), -9.0)
        lp[np.arange(len(classes)), classes] = 0.0
        return lp

    # Runs of one class give their middle frame; a blank separates repeats.
    assert crops.emitted_centres(path([0, 1, 1, 0, 2, 0, 0, 1])) == [1.5, 4.0, 7.0]
    assert crops.emitted_centres(path([1, 0, 1, 1, 1])) == [0.0, 3.0]
    assert crops.emitted_centres(path([1, 2])) == [0.0, 1.0]
    assert crops.emitted_centres(path([0, 0])) == []


def test_benches_refuse_too_little_data_clearly(tmp_path):
    zero_oh = _load("imagecaptcha_zero_oh")
    x, y = zero_oh.draw_glyphs(10, seed=5)
    # Fewer examples than one batch would never train: an error, not a hang.
    with pytest.raises(ValueError, match=r"at least 64 training examples \(one batch\), got 10"):
        zero_oh.accuracy(x, y, x, y, steps=5, seed=0)
    crops = _load("imagecaptcha_crops")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit, match="neural reader file not found"):
        crops.main(["--model-dir", str(tmp_path / "none"), "--train", str(empty), "--test", str(empty)])
    from captcha_solver.inference import shipped_model_dir
    from captcha_solver.neural import NeuralReader

    shipped = NeuralReader.from_dir(shipped_model_dir(), threads=1)
    with pytest.raises(ValueError, match=f"{empty}: no 0 or O found in 0 captchas"):
        crops.crops(shipped, empty, 48)
