"""The glyph classifiers we compare: linear, SVM and gradient boosting."""

from __future__ import annotations

from typing import Any

__all__ = ["CANDIDATES", "make_estimator"]

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

        return make_pipeline(StandardScaler(), LogisticRegression(C=params.get("logreg_c", 1.0), max_iter=3000))
    if name == "svm":
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        # probability=True: the decoder compares candidates by probability.
        return make_pipeline(
            StandardScaler(), SVC(C=params.get("svm_c", 10.0), gamma="scale", probability=True, random_state=seed)
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
