"""The smallest neural-reader training the tests run: a few seconds on one thread."""

from __future__ import annotations

TINY = {
    "epochs": 2,
    "batch_size": 16,
    "patience": 5,
    "threads": 1,
    "min_images": 20,
    "channels": (8, 16, 24, 32),
    "rnn_hidden": 24,
}


def train_tiny(paths, out, **changes):
    """Train on the first 48 of ``paths``, validate on the rest, with ``TINY`` updated by ``changes``."""
    from captcha_solver.training.neural import NeuralTrainingConfig, train_neural

    return train_neural(
        paths[:48],
        val_paths=paths[48:],
        config=NeuralTrainingConfig(**{**TINY, **changes}),
        out_dir=out,
        progress=False,
    )


# Every neural setting the plan would otherwise choose from the data, fixed, so that
# ``config_from_settings`` accepts a Config built from defaults.
RESOLVED = {
    "neural.epochs": 3,
    "neural.patience": 3,
    "neural.batch_size": 16,
    "neural.height": 32,
    "neural.frame_stride": 2,
    "neural.channels": "8,16,24,32",
    "neural.stem": "pool",
    "neural.weight_decay": 1e-4,
    "neural.dropout": 0.1,
    "training.validation_fraction": 0.2,
    "neural.splice": 0.0,
}
