"""Run notebooks/compare_readers.ipynb end to end on tiny data, so that it cannot rot.

Two runs: the shipped model (classical, neural and fused readings) on 24 generated
captchas with a small labels-curve file, and a classical-only model on a folder the
notebook generates itself, with no labels-curve file and then a broken one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from captcha_solver.image_io import label_from_path, list_images
from captcha_solver.inference import Model, shipped_model_dir
from captcha_solver.metrics import wilson_interval
from captcha_solver.settings import Config, apply_overrides

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "compare_readers.ipynb"

#: A labels curve as bench/labels_curve.py writes it: 2 seeds in two of the four arms.
CURVE = {
    "style": "test style",
    "holdout": 40,
    "protocol": "test protocol",
    "commands": ["python bench/labels_curve.py --labels 50,100 --seeds 0,1 --out curve.json"],
    "points": [
        {"labels": 50, "unlabelled": 0, "seed": 0, "exact": 0.6, "n": 40, "train_seconds": 10.0},
        {"labels": 50, "unlabelled": 0, "seed": 1, "exact": 0.7, "n": 40, "train_seconds": 12.0},
        {"labels": 50, "unlabelled": 150, "seed": 0, "exact": 0.8, "n": 40, "train_seconds": 20.0},
        {"labels": 100, "unlabelled": 0, "seed": 0, "exact": 0.75, "n": 40, "train_seconds": 15.0},
        {"labels": 100, "unlabelled": 100, "seed": 0, "exact": 0.9, "n": 40, "train_seconds": 30.0},
        {"labels": 100, "unlabelled": 100, "seed": 1, "exact": 0.95, "n": 40, "train_seconds": 31.0},
    ],
}


def _run(params: dict, extra_cells: tuple[str, ...] = ()):
    """Execute the notebook with its parameters replaced (and cells appended); return it, its text, its images."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, "the notebook needs exactly one cell tagged 'parameters'"
    cells[0].source = "\n".join(f"{key} = {value!r}" for key, value in params.items())
    nb.cells += [nbformat.v4.new_code_cell(source) for source in extra_cells]
    client = nbclient.NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]
    text = "".join(out.get("text", "") for out in outputs)
    images = [out for out in outputs if {"image/png", "image/jpeg"} & set(out.get("data", {}))]
    return nb, text, images


def _rights(model_dir: Path, paths: list[Path]) -> dict[str, int]:
    """Exact right of each reading, computed here without the notebook: the figures it must print."""
    config = apply_overrides(Config(), {"classifier.threads": 1})
    rights = {}
    for name, reader in (("classical", "classical"), ("neural", "neural"), ("fused", "auto")):
        model = Model.load(model_dir, apply_overrides(config, {"routing.reader": reader}))
        rights[name] = sum(model.read(p).text == label_from_path(p) for p in paths)
    return rights


def test_notebook_compares_three_readings_and_draws_the_labels_curve(tmp_path, captcha_dir):
    curve = tmp_path / "curve.json"
    curve.write_text(json.dumps(CURVE), encoding="utf-8")
    params = {
        "MODEL_DIR": None,  # the shipped model: both readers and a fitted fusion
        "DATASET_DIR": str(captcha_dir),
        "GENERATE_COUNT": 300,
        "GENERATE_SEED": 4242,
        "N": 24,
        "N_HARDEST": 6,
        "SHOW_IMAGES": True,
        "LABELS_CURVE": str(curve),
    }
    _, text, images = _run(params)

    assert f"24 captchas from {captcha_dir}" in text
    assert "generated" not in text, "an existing folder is read, never generated into"
    assert "readings compared: classical, neural, fused" in text
    assert "fusion: fitted" in text
    expected = _rights(shipped_model_dir(), list_images(captcha_dir)[0][:24])
    assert (
        f"(exact right of 24: classical {expected['classical']}, neural {expected['neural']}, "
        f"fused {expected['fused']})" in text
    )
    table = {
        line.split()[0]: line
        for line in text.splitlines()
        if re.match(r"^(classical|neural|fused) +[01]\.\d{4} ", line)
    }
    assert set(table) == {"classical", "neural", "fused"}
    for name, right in expected.items():
        lo, hi = wilson_interval(right, 24)
        assert f"{right / 24:.4f}   [{lo:.4f}, {hi:.4f}]" in table[name]

    # One table row per (labels, arm), the mean over seeds and the pooled Wilson interval of the JSON.
    rows = [line for line in text.splitlines() if re.match(r"^ +\d+  (without|with the rest)", line)]
    assert len(rows) == 4
    for (labels, arm), values in {
        (50, "without unlabelled"): [0.6, 0.7],
        (100, "without unlabelled"): [0.75],
        (50, "with the rest unlabelled"): [0.8],
        (100, "with the rest unlabelled"): [0.9, 0.95],
    }.items():
        right, total = sum(round(v * 40) for v in values), 40 * len(values)
        lo, hi = wilson_interval(right, total)
        pattern = (
            rf"^ +{labels}  {arm} +\d+ +{len(values)} +{np.mean(values):.4f} +{right}/{total} +"
            rf"\[{lo:.4f}, {hi:.4f}\]"
        )
        assert sum(bool(re.match(pattern, row)) for row in rows) == 1, (labels, arm, rows)
    assert CURVE["commands"][0] in text and "test protocol" in text
    # The reliability diagram, the hardest cases and the labels curve.
    assert len(images) == 3


def test_notebook_generates_its_data_and_skips_what_the_model_lacks(tmp_path, trained_model_dir):
    data = tmp_path / "generated"
    broken = tmp_path / "broken.json"
    broken.write_text('{"points": [{"labels": 50}]}', encoding="utf-8")
    params = {
        "MODEL_DIR": str(trained_model_dir),  # classical reader only
        "DATASET_DIR": str(data),  # does not exist: the notebook generates it
        "GENERATE_COUNT": 12,
        "GENERATE_SEED": 4242,
        "N": 0,
        "N_HARDEST": 3,
        "SHOW_IMAGES": False,
        "LABELS_CURVE": str(tmp_path / "missing.json"),
    }
    # The labels-curve cell runs once more (appended) on a file that is not a labels curve.
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    curve_cell = next(c for c in cells if "LABELS_CURVE" in c.source and "json.loads" in c.source)
    _, text, images = _run(params, (f"LABELS_CURVE = {str(broken)!r}", curve_cell.source))

    assert len(list_images(data)[0]) == 12
    assert f"generated 12 captchas (seed 4242, built-in assets) into {data}" in text
    assert f"12 captchas from {data}" in text
    assert "readings compared: classical\n" in text
    assert "neural: not in this model, skipped" in text
    assert not re.search(r"^(neural|fused) +[01]\.\d{4} ", text, flags=re.M)
    assert re.search(r"^classical +[01]\.\d{4}", text, flags=re.M)
    assert f"labels curve: {tmp_path / 'missing.json'} does not exist yet" in text
    assert f"labels curve: {broken} is not a labels curve (KeyError" in text
    assert len(images) == 1, "only the reliability diagram: no pictures, no curve"
