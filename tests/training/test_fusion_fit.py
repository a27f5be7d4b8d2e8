"""Fitting the fusion on validation captchas: weight, temperature, fast-path threshold, calibration."""

import numpy as np
import pytest

from captcha_solver.fusion import candidate_probabilities, fused_scores, keep_classical
from captcha_solver.training import FusionSample, fit_fusion, middle_of_best
from captcha_solver.training._fusion import TEMPERATURES, _choices


def _sample(label, classical, cconf, neural, cands, fn, fc, plausible=True):
    return FusionSample(label, classical, cconf, plausible, neural, tuple(cands), tuple(fn), tuple(fc))


def _samples():
    out = []
    # Neural is right where the classical reader is unsure, and vice versa:
    # only a weighted sum of both gets every captcha.
    for i in range(20):
        out.append(_sample(f"ab{i}", f"ab{i}", 0.99, f"ab{i}", [f"ab{i}"], [-0.1], [-0.2]))
    for i in range(10):  # classical wrong and unsure, neural right and sure
        out.append(
            _sample(f"cd{i}", f"cx{i}", 0.4, f"cd{i}", [f"cd{i}", f"cx{i}"], [-0.2, -6.0], [-3.0, -1.0])
        )
    for i in range(10):  # neural wrong but classical right and sure of it
        out.append(
            _sample(f"ef{i}", f"ef{i}", 0.6, f"eI{i}", [f"eI{i}", f"ef{i}"], [-0.5, -1.5], [-12.0, -0.5])
        )
    return out


def test_the_fitted_fusion_reads_what_neither_reader_reads_alone():
    fit = fit_fusion(_samples())
    assert fit["val_exact_classical"] == pytest.approx(30 / 40)
    assert fit["val_exact_neural"] == pytest.approx(30 / 40)
    assert fit["val_exact"] == 1.0 and fit["val_exact_fused"] == 1.0
    lo, hi = fit["weight_range"]
    assert 0.0 < lo <= fit["weight_classical"] <= hi < 1.0
    lo, hi = fit["best_range"]
    assert lo <= fit["min_confidence"] <= hi
    # The unsure classical readings (0.4, 0.6) must go through the fusion.
    assert fit["min_confidence"] > 0.6 and fit["neural_share"] == pytest.approx(0.5)
    assert 0.0 <= fit["ece"] < 0.2 and fit["n"] == 40 and fit["temperature"] > 0


def test_an_all_right_validation_set_does_not_make_the_confidence_certain():
    # Every fused answer right: the plain log loss would pick the sharpest temperature tried.
    fit = fit_fusion(_samples())
    assert fit["val_exact_fused"] == 1.0
    assert fit["temperature"] < TEMPERATURES.max()
    # The mean confidence lands near the rule of succession's (n + 1) / (n + 2), not at 1.
    fused_ok, scores = _choices(_samples(), fit["weight_classical"])
    conf = [candidate_probabilities(sc, fit["temperature"]).max() for sc in scores]
    assert np.mean(conf) == pytest.approx(41 / 42, abs=0.01)


def test_fit_needs_samples():
    with pytest.raises(ValueError, match="at least one validation captcha"):
        fit_fusion([])


def test_scores_floor_a_veto_and_probabilities_sum_to_one():
    s = fused_scores([-np.inf, -1.0], [-2.0, -np.inf], 0.5)
    assert np.all(np.isfinite(s)) and s[0] == pytest.approx(0.5 * -60 + 0.5 * -2.0)
    p = candidate_probabilities([-1.0, -2.0, -3.0], 1.0)
    assert p.sum() == pytest.approx(1.0) and p[0] > p[1] > p[2]
    assert candidate_probabilities([], 1.0).size == 0


def test_keep_classical_needs_plausible_and_sure():
    assert keep_classical(True, 0.95, 0.9) and not keep_classical(False, 0.99, 0.9)
    assert not keep_classical(True, 0.5, 0.9)
    np.testing.assert_array_equal(keep_classical([True, True], [0.2, 0.95], 0.9), [False, True])


def test_middle_of_best_takes_the_widest_run():
    assert middle_of_best([0.1, 0.9, 0.5, 0.9, 0.9, 0.9, 0.2]) == (4, 3, 5)
    assert middle_of_best([0.3]) == (0, 0, 0)


def test_policy_of_a_manifest_and_of_one_trained_before_fusion():
    from captcha_solver.artifacts import NEURAL_META, NEURAL_MODEL, Fusion, Labels, Manifest
    from captcha_solver.inference import DEFAULT_MIN_CONFIDENCE, ReadPolicy

    fused = Manifest(
        fusion=Fusion(min_confidence=0.7, weight_classical=0.3, temperature=0.5),
        labels=Labels(lengths={4: 10, 6: 2}),
    )
    policy = ReadPolicy.from_manifest(fused)
    assert (policy.min_confidence, policy.weight_classical, policy.temperature) == (0.7, 0.3, 0.5)
    assert policy.lengths == {4, 6} and policy.allows("abcd") and not policy.allows("abcde")
    assert ReadPolicy.from_manifest(fused, min_confidence=0.2).min_confidence == 0.2
    # A format version 1 manifest of a model fitted before the fusion: its routing threshold still holds.
    version_1 = {
        "format_version": 1,
        "artifacts": {NEURAL_MODEL: "0" * 64, NEURAL_META: "1" * 64},
        "routing": {"min_confidence": 0.95},
    }
    legacy = ReadPolicy.from_manifest(Manifest.from_dict(version_1))
    assert legacy.min_confidence == 0.95 and legacy.lengths == frozenset() and legacy.allows("anylength")
    assert (legacy.weight_classical, legacy.temperature) == (0.5, 1.0)
    assert ReadPolicy.from_manifest(Manifest()).min_confidence == DEFAULT_MIN_CONFIDENCE
    assert ReadPolicy.from_manifest(None).min_confidence == DEFAULT_MIN_CONFIDENCE
    assert not ReadPolicy().allows("")


def test_the_fit_weighs_the_spacing_evidence_as_reading_does():
    # In the second captcha both readers prefer "Ilx" by one nat; its glyphs' spacing says "lIx" by four.
    samples = [
        FusionSample("Il", "Il", 0.5, True, "Il", ("Il", "lI"), (-0.1, -1.1), (-0.1, -1.1), (0.0, 0.0)),
        FusionSample("lIx", "Ilx", 0.5, True, "Ilx", ("Ilx", "lIx"), (-0.1, -1.1), (-0.1, -1.1), (-4.0, 0.0)),
    ]
    assert fit_fusion(samples)["val_exact_fused"] == 0.5  # spacing unweighted: the second is wrong
    assert fit_fusion(samples, spacing_weight=0.5)["val_exact_fused"] == 1.0
