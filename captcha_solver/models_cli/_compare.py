"""Two models on the same labelled folder: accuracy with its interval, and the captchas where they differ."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from captcha_solver.image_io import label_from_path, label_problem, list_dataset
from captcha_solver.inference import read_files
from captcha_solver.metrics import wilson_interval
from captcha_solver.solver import My_CaptchaSolver_Model

__all__ = ["Comparison", "compare_versions"]


@dataclass
class Comparison:
    """The readings of two models (``a``, ``b``) of one labelled folder.

    Attributes
    ----------
    labels : list of str
        The true text of each captcha (from its file name), in folder order.
    files : list of str
    a, b : list of str
        What each model read ("" for an unread image).
    names : (str, str)
        The version labels of the two models.
    skipped : list of (path, reason)
        Files that are not labelled captchas (left out of both).
    """

    names: tuple[str, str]
    files: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    a: list[str] = field(default_factory=list)
    b: list[str] = field(default_factory=list)
    skipped: list = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.labels)

    def correct(self, which: str) -> int:
        """How many captchas model ``"a"`` or ``"b"`` read exactly right."""
        return sum(p == t for p, t in zip(getattr(self, which), self.labels))

    def accuracy(self, which: str) -> dict:
        """Exact accuracy of ``"a"`` or ``"b"`` with its 95% Wilson interval."""
        right = self.correct(which)
        low, high = wilson_interval(right, self.n)
        return {
            "correct": right,
            "n": self.n,
            "exact_accuracy": right / self.n if self.n else 0.0,
            "ci95": [low, high],
        }

    def differences(self) -> list[dict]:
        """Every captcha the two models read differently: file, truth, both readings, who is right."""
        out = []
        for file, truth, a, b in zip(self.files, self.labels, self.a, self.b):
            if a != b:
                out.append(
                    {
                        "file": Path(file).name,
                        "truth": truth,
                        "a": a,
                        "b": b,
                        "a_right": a == truth,
                        "b_right": b == truth,
                    }
                )
        return out

    def summary(self) -> dict:
        diff = self.differences()
        return {
            "dataset_images": self.n,
            "skipped": len(self.skipped),
            "a": {"model": self.names[0], **self.accuracy("a")},
            "b": {"model": self.names[1], **self.accuracy("b")},
            "differ": len(diff),
            "only_a_right": [d["file"] for d in diff if d["a_right"] and not d["b_right"]],
            "only_b_right": [d["file"] for d in diff if d["b_right"] and not d["a_right"]],
        }


def compare_versions(
    a: My_CaptchaSolver_Model, b: My_CaptchaSolver_Model, dataset_dir: str | Path, *, workers: int = 0
) -> Comparison:
    """Read every labelled captcha of ``dataset_dir`` with both (loaded) models; nothing is written.

    Raises
    ------
    FileNotFoundError, NotADirectoryError, image_io.EmptyDatasetError
        If the folder is missing or holds no images.
    ValueError
        If no file of the folder has a usable label.
    """
    images, rejected = list_dataset(dataset_dir, a.config.input)
    result = Comparison(names=(a.model_version, b.model_version), skipped=list(rejected))
    labelled = []
    for path in images:
        problem = label_problem(label_from_path(path))
        if problem:
            result.skipped.append((path, problem))
        else:
            labelled.append(path)
    if not labelled:
        raise ValueError(f"{dataset_dir}: no labelled captcha (<text>.png) to compare on")
    result.files = [str(p) for p in labelled]
    result.labels = [label_from_path(p) for p in labelled]
    result.a = [row["prediction"] for row in read_files(a.model_, labelled, workers=workers)]
    result.b = [row["prediction"] for row in read_files(b.model_, labelled, workers=workers)]
    return result
