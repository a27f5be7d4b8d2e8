import numpy as np
import pytest

from captcha_solver.glyph_reader import OnnxGlyphClassifier
from captcha_solver.training.classical import (
    CANDIDATES,
    SklearnProba,
    export_onnx,
    fit_estimator,
    make_estimator,
)

PARAMS = {"catboost_iterations": 30, "catboost_depth": 3, "geometry_weight": 3.0, "svm_c": 5.0}


def _data(n_classes=5, n=300, d=12, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (n_classes, d))
    y = rng.integers(0, n_classes, n)
    X = (centres[y] + rng.normal(0, 1.0, (n, d))).astype(np.float32)
    return X, y


@pytest.mark.parametrize("name", CANDIDATES)
def test_onnx_matches_the_trained_estimator(tmp_path, name):
    X, y = _data()
    estimator = fit_estimator(name, X, y, params=PARAMS, seed=0, threads=1, geometry_columns=slice(8, 12))
    path = tmp_path / f"{name}.onnx"
    export_onnx(estimator, X.shape[1], path)
    columns = np.asarray(estimator.classes_).ravel().astype(int).tolist()
    runtime = OnnxGlyphClassifier(path, columns, n_classes=6)
    ours = runtime(X[:50])
    ref = SklearnProba(estimator, 6)(X[:50])
    assert ours.shape == (50, 6)
    np.testing.assert_allclose(ours, ref, atol=1e-4)
    assert np.all(ours[:, 5] == 0)  # a class with no training sample gets no probability


def test_geometry_weight_scales_those_columns_only():
    X, y = _data()
    plain = fit_estimator(
        "logreg", X, y, params={"geometry_weight": 1.0}, seed=0, threads=1, geometry_columns=slice(8, 12)
    )
    heavy = fit_estimator(
        "logreg", X, y, params={"geometry_weight": 4.0}, seed=0, threads=1, geometry_columns=slice(8, 12)
    )
    ratio = plain.steps[0][1].scale_ / heavy.steps[0][1].scale_
    np.testing.assert_allclose(ratio[:8], 1.0)
    np.testing.assert_allclose(ratio[8:], 4.0)


def test_runtime_checks_feature_count(tmp_path):
    X, y = _data()
    estimator = fit_estimator("logreg", X, y, params={}, seed=0, threads=1, geometry_columns=slice(0, 0))
    export_onnx(estimator, X.shape[1], tmp_path / "m.onnx")
    runtime = OnnxGlyphClassifier(tmp_path / "m.onnx", list(range(5)), 6)
    with pytest.raises(ValueError, match="X has 3 features, but the classifier expects 12"):
        runtime(np.zeros((2, 3), np.float32))


def test_unknown_classifier_named():
    with pytest.raises(
        ValueError, match="unknown classifier 'forest': expected one of logreg, svm, catboost"
    ):
        make_estimator("forest", params={}, seed=0, threads=1)
