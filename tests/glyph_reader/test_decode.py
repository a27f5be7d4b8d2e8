import numpy as np

from captcha_solver.glyph_reader import best_path, forced_alignment

G = 3  # classes 0..2 are characters, 3 is garbage


def _proba(rows):
    return np.array(rows, dtype=float)


def test_best_path_prefers_whole_glyph_over_its_pieces():
    # atoms 0,1 form one glyph (class 2); pieces alone are garbage.
    spans = [(0, 1), (1, 2), (0, 2)]
    proba = _proba([[0.05, 0.05, 0.1, 0.8], [0.05, 0.05, 0.1, 0.8], [0.01, 0.01, 0.95, 0.03]])
    r = best_path(2, spans, proba, G, skippable=[(0, 2)])
    assert r.spans == ((0, 2),) and r.classes == (2,)
    assert r.probabilities[0] == 0.95


def test_best_path_splits_a_touching_pair():
    spans = [(0, 1), (1, 2), (0, 2)]
    proba = _proba([[0.9, 0.05, 0.03, 0.02], [0.02, 0.9, 0.05, 0.03], [0.02, 0.02, 0.02, 0.94]])
    r = best_path(2, spans, proba, G, skippable=[(0, 2)])
    assert r.classes == (0, 1)


def test_best_path_drops_noise_blob_but_not_for_free():
    spans = [(0, 1), (1, 2)]
    proba = _proba([[0.97, 0.01, 0.01, 0.01], [0.001, 0.001, 0.001, 0.997]])
    assert best_path(2, spans, proba, G, skippable=spans).classes == (0,)
    # With a huge penalty the noise must be read as something.
    assert len(best_path(2, spans, proba, G, skippable=spans, skip_penalty=50).classes) == 2


def test_forced_alignment_reads_exactly_the_target():
    spans = [(0, 1), (1, 2), (0, 2)]
    proba = _proba([[0.3, 0.3, 0.1, 0.3], [0.3, 0.3, 0.1, 0.3], [0.1, 0.1, 0.7, 0.1]])
    two = forced_alignment(2, spans, proba, G, [0, 1])
    assert two.spans == ((0, 1), (1, 2))
    one = forced_alignment(2, spans, proba, G, [2])
    assert one.spans == ((0, 2),)
    assert forced_alignment(2, spans, proba, G, [0, 1, 2]) is None


def test_reader_gives_up_on_noise(trained_model_dir):
    from captcha_solver.solver import My_CaptchaSolver_Model

    solver = My_CaptchaSolver_Model(model_dir=trained_model_dir, overrides={"logging.console": False}).load()
    rng = np.random.default_rng(0)
    noise = np.zeros((300, 720, 3), np.uint8)
    for _ in range(400):  # hundreds of separate bright specks
        y, x = rng.integers(0, 290), rng.integers(0, 710)
        noise[y : y + 6, x : x + 6] = 200
    result = solver.model_.classical.read(noise)
    assert result.text == "" and result.confidence == 0.0


def test_restrict_proba_charset_and_case():
    import pytest

    from captcha_solver.glyph_reader import restrict_proba

    charset = "Cc1"
    proba = np.array([[0.5, 0.3, 0.1, 0.1]])
    lower = restrict_proba(proba, charset, None, "lower")
    np.testing.assert_allclose(lower, [[0.0, 0.8, 0.1, 0.1]], atol=1e-6)
    digits = restrict_proba(proba, charset, "1", "sensitive")
    np.testing.assert_allclose(digits, [[0.0, 0.0, 0.5, 0.5]], atol=1e-6)  # garbage kept
    with pytest.raises(ValueError, match="share none"):
        restrict_proba(proba, charset, "xyz", "sensitive")
    with pytest.raises(ValueError, match="case must be"):
        restrict_proba(proba, charset, None, "title")


def test_predict_time_charset_restriction(trained_model_dir, captcha_dir, tmp_path):
    from captcha_solver.solver import My_CaptchaSolver_Model

    image = sorted(captcha_dir.glob("*.png"))[0]
    base = {"logging.console": False, "paths.log_file": str(tmp_path / "l.log")}
    digits = My_CaptchaSolver_Model(
        model_dir=trained_model_dir,
        overrides={**base, "routing.allowed_chars": "0123456789"},
        results_csv=tmp_path / "r.csv",
    )
    assert set(digits.predict_row(image)["prediction"]) <= set("0123456789")
    upper = My_CaptchaSolver_Model(
        model_dir=trained_model_dir,
        overrides={**base, "routing.case": "upper"},
        results_csv=tmp_path / "r.csv",
    )
    assert upper.predict_row(image)["prediction"] == upper.predict_row(image)["prediction"].upper()
