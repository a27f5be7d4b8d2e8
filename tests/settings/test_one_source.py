"""Every stage's defaults are the settings schema's: one value per setting, wherever it is read."""

import dataclasses

from captcha_solver.neural import NeuralConfig, config_from_settings
from captcha_solver.recognition import DecodeParams
from captcha_solver.settings import Config
from features import FeatureParams
from segmentation import SegmentationParams


def _defaults(cls) -> dict:
    return {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}


def test_stage_parameters_default_to_the_schema():
    config = Config()
    for cls, section in (
        (SegmentationParams, config.segmentation),
        (FeatureParams, config.features),
        (DecodeParams, config.decoding),
    ):
        stage = _defaults(cls)
        schema = {k: v for k, v in section.to_dict().items() if k in stage}
        assert schema, cls
        assert {k: stage[k] for k in schema} == schema, (
            f"{cls.__name__} defaults differ from the settings schema"
        )


def test_neural_config_defaults_are_the_schema_values():
    # NeuralConfig() is what `train_neural` uses when no config is given:
    # it must train like `model.py train --reader neural` with default settings.
    assert NeuralConfig() == config_from_settings(Config())
    assert (NeuralConfig().epochs, NeuralConfig().patience) == (
        Config().neural.epochs,
        Config().neural.patience,
    )
