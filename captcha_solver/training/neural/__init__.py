"""Training the neural reader (torch): data, network, loop, schedule, export; imported only to train.

:func:`train_neural` is loaded lazily, so that importing this package (for
:class:`NeuralTrainingConfig`) does not import torch.
"""

from captcha_solver.training.neural._config import CHECKPOINT_NAME, NeuralTrainingConfig, config_from_settings

__all__ = ["CHECKPOINT_NAME", "NeuralTrainingConfig", "config_from_settings", "train_neural"]


def __getattr__(name):
    # Lazy: only a training run pulls in torch.
    if name == "train_neural":
        from captcha_solver.training.neural._loop import train_neural

        return train_neural
    raise AttributeError(f"module 'captcha_solver.training.neural' has no attribute {name!r}")
