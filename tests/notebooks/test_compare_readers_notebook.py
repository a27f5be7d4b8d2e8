"""Run notebooks/compare_readers.ipynb end to end on tiny data, so it cannot rot."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")
pytest.importorskip("torch")

from captcha_solver.image_io import list_images
from captcha_solver.training.neural import NeuralTrainingConfig, train_neural

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "compare_readers.ipynb"


def test_compare_readers_notebook_runs(tmp_path, captcha_dir, trained_model_dir):
    # A tiny neural model: 2 epochs of a narrow network on the first 80 captchas.
    neural_dir = tmp_path / "neural"
    paths = list_images(captcha_dir)[0]
    tiny = NeuralTrainingConfig(epochs=2, batch_size=16, threads=1, channels=(8, 16, 24, 32), rnn_hidden=24)
    train_neural(paths[:64], val_paths=paths[64:80], config=tiny, out_dir=neural_dir, progress=False)

    nb = nbformat.read(NOTEBOOK, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "the notebook needs exactly one cell tagged 'parameters'"
    params[0].source = "\n".join(
        [
            f"DATASET_DIR = {str(captcha_dir)!r}",
            f"CLASSICAL_MODEL_DIR = {str(trained_model_dir)!r}",
            f"NEURAL_MODEL_DIR = {str(neural_dir)!r}",
            "N = 24",
            "ROUTING_THRESHOLD = None",
            "ROUTING_SPLIT = 0.5",
            "N_HARDEST = 6",
            "SHOW_IMAGES = True",
        ]
    )
    client = nbclient.NotebookClient(
        nb,
        timeout=240,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    text = "\n".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    assert "24 captchas" in text
    assert "classical" in text and "neural" in text and "routed" in text
    images = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    ]
    assert len(images) >= 2, "the reliability plot and the hardest cases should be drawn"
