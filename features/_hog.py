"""Histogram of oriented gradients for a batch of glyphs, in numpy.

It computes what ``skimage.feature.hog`` computes (central-difference
gradients, hard orientation binning over [0, 180) degrees, mean magnitude per
cell, L2-Hys block normalisation, the same output order) but over a whole
batch at once: a captcha's 3-10 glyph candidates cost one vectorised call
instead of one Python-level call each, and inference needs no scikit-image.
``tests/features/test_hog.py`` checks it against scikit-image.
"""

from __future__ import annotations

import numpy as np

__all__ = ["hog_batch"]


def hog_batch(
    images: np.ndarray,
    orientations: int = 9,
    pixels_per_cell: int = 8,
    cells_per_block: int = 2,
    eps: float = 1e-5,
) -> np.ndarray:
    """HOG descriptors of a batch of equally sized grey images.

    Parameters
    ----------
    images : (N, S, S) ndarray of float
        Grey glyph images (any scale; HOG is contrast-normalised per block).
    orientations : int
        Number of orientation bins over [0, 180) degrees.
    pixels_per_cell : int
        Side of a square cell in pixels.
    cells_per_block : int
        Side of a square normalisation block in cells.
    eps : float
        Regulariser of the block norm, as in scikit-image.

    Returns
    -------
    descriptors : (N, D) ndarray of float32
        ``D = n_blocks**2 * cells_per_block**2 * orientations`` with
        ``n_blocks = S // pixels_per_cell - cells_per_block + 1``.

    Raises
    ------
    ValueError
        If the images are not a (N, S, S) batch or are too small for one block.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3:
        raise ValueError(f"images must be a (N, rows, cols) batch, got shape {images.shape}")
    n, rows, cols = images.shape
    n_cells_r, n_cells_c = rows // pixels_per_cell, cols // pixels_per_cell
    n_blocks_r = n_cells_r - cells_per_block + 1
    n_blocks_c = n_cells_c - cells_per_block + 1
    if n_blocks_r < 1 or n_blocks_c < 1:
        need = pixels_per_cell * cells_per_block
        raise ValueError(
            f"glyph images of {rows}x{cols} px are too small for pixels_per_cell={pixels_per_cell} "
            f"and cells_per_block={cells_per_block}: they need at least {need}x{need} px"
        )
    # Central differences with zero borders (skimage's _hog_channel_gradient).
    g_row = np.zeros_like(images)
    g_col = np.zeros_like(images)
    g_row[:, 1:-1, :] = images[:, 2:, :] - images[:, :-2, :]
    g_col[:, :, 1:-1] = images[:, :, 2:] - images[:, :, :-2]
    magnitude = np.hypot(g_row, g_col)
    angle = np.rad2deg(np.arctan2(g_row, g_col)) % 180.0
    # Hard binning: bin i holds angles in [i, i+1) * 180 / orientations.
    bins = np.minimum((angle * (orientations / 180.0)).astype(np.int64), orientations - 1)

    # Crop to whole cells, then sum magnitudes per (cell, bin) with one bincount.
    h, w = n_cells_r * pixels_per_cell, n_cells_c * pixels_per_cell
    magnitude, bins = magnitude[:, :h, :w], bins[:, :h, :w]
    cell_r = np.arange(h) // pixels_per_cell
    cell_c = np.arange(w) // pixels_per_cell
    cell_index = (cell_r[:, None] * n_cells_c + cell_c[None, :])[None, :, :]
    sample = np.arange(n)[:, None, None]
    flat = (sample * (n_cells_r * n_cells_c) + cell_index) * orientations + bins
    hist = np.bincount(
        flat.ravel(), weights=magnitude.ravel(), minlength=n * n_cells_r * n_cells_c * orientations
    )
    hist = hist.reshape(n, n_cells_r, n_cells_c, orientations) / (pixels_per_cell * pixels_per_cell)

    # Blocks of cells_per_block x cells_per_block cells, L2-Hys normalised.
    b = cells_per_block
    blocks = np.empty((n, n_blocks_r, n_blocks_c, b, b, orientations))
    for i in range(b):
        for j in range(b):
            blocks[:, :, :, i, j, :] = hist[:, i : i + n_blocks_r, j : j + n_blocks_c, :]
    axes = (3, 4, 5)
    blocks = blocks / np.sqrt(np.sum(blocks**2, axis=axes, keepdims=True) + eps**2)
    blocks = np.minimum(blocks, 0.2)
    blocks = blocks / np.sqrt(np.sum(blocks**2, axis=axes, keepdims=True) + eps**2)
    return blocks.reshape(n, -1).astype(np.float32)
