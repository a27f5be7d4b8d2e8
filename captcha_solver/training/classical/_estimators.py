"""The glyph classifiers we compare: linear, SVM and gradient boosting."""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["CANDIDATES", "fit_estimator", "make_estimator"]

CANDIDATES = ("logreg", "svm", "catboost")


def make_estimator(name: str, *, params: dict[str, Any], seed: int, threads: int):
    """A fresh, untrained estimator for candidate ``name``.

    Linear and SVM models see standardised features (HOG values and pixel
    sizes live on different scales); CatBoost splits on raw values.

    Raises
    ------
    ValueError
        If ``name`` is not one of ``CANDIDATES``.
    """
    if name == "logreg":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(
            StandardScaler(), LogisticRegression(C=params.get("logreg_c", 1.0), max_iter=3000)
        )
    if name == "svm":
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        # probability=True: the decoder compares candidates by probability.
        return make_pipeline(
            StandardScaler(),
            SVC(C=params.get("svm_c", 10.0), gamma="scale", probability=True, random_state=seed),
        )
    if name == "catboost":
        from catboost import CatBoostClassifier

        return CatBoostClassifier(
            iterations=params.get("catboost_iterations", 600),
            depth=params.get("catboost_depth", 6),
            loss_function="MultiClass",
            random_seed=seed,
            thread_count=threads,
            verbose=False,
            allow_writing_files=False,
        )
    raise ValueError(f"unknown classifier {name!r}: expected one of {', '.join(CANDIDATES)}")


def fit_estimator(
    name: str, X, y, *, params: dict[str, Any], seed: int, threads: int, geometry_columns: slice
):
    """Fit candidate ``name`` on (X, y) and return the fitted estimator.

    For the linear model and the SVM the standardised geometry columns are
    multiplied by ``params["geometry_weight"]``: they are 16 columns against
    hundreds of HOG values, yet they alone tell c from C or l from I, and an
    RBF kernel otherwise drowns them. The weight lives in the scaler's
    ``scale_``, so the ONNX export carries it with no custom operator.
    CatBoost and the SVM train on at most ``params["catboost_max_rows"]``
    and ``params["svm_max_rows"]`` rows drawn at random: on 63 classes they
    are by far the slowest to fit (an RBF SVM grows with the square of the
    rows), and the training budget is minutes.
    """
    import numpy as np

    estimator = make_estimator(name, params=params, seed=seed, threads=threads)
    limit = int(params.get(f"{name}_max_rows", len(y)))
    if len(y) > limit:
        keep = np.sort(np.random.default_rng(seed).choice(len(y), limit, replace=False))
        X, y = X[keep], y[keep]
    if name == "catboost":
        return estimator.fit(X, y)
    from sklearn.pipeline import Pipeline

    scaler, model = estimator.steps[0][1], estimator.steps[-1][1]
    scaler.fit(X)
    scaler.scale_[geometry_columns] /= float(params.get("geometry_weight", 1.0))
    with warnings.catch_warnings():
        # SVC(probability=True) is deprecated in scikit-learn 1.9 but is the
        # form skl2onnx converts; pyproject pins scikit-learn below 1.11.
        warnings.simplefilter("ignore", FutureWarning)
        model.fit(scaler.transform(X), y)
    return Pipeline([("scale", scaler), ("model", model)])
