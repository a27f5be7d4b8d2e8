"""Every stage's defaults are the settings schema's: one value per setting, wherever it is read."""

import dataclasses

from captcha_solver.glyph_reader import DecodeParams
from captcha_solver.settings import Config, apply_overrides
from captcha_solver.training.neural import NeuralTrainingConfig as NeuralConfig
from captcha_solver.training.neural import config_from_settings
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
    # NeuralConfig() is what `train_neural` uses when no config is given. The
    # settings the plan chooses from the data (0, -1, auto in the schema) set
    # to NeuralConfig's values, every other setting comes from the schema.
    d = NeuralConfig()
    chosen = {
        "neural.epochs": d.epochs,
        "neural.patience": d.patience,
        "neural.batch_size": d.batch_size,
        "neural.height": d.height,
        "neural.frame_stride": d.frame_stride,
        "neural.channels": ",".join(map(str, d.channels)),
        "neural.stem": d.stem,
        "neural.weight_decay": d.weight_decay,
        "neural.dropout": d.dropout,
        "neural.splice": d.aug_splice,
        "training.validation_fraction": d.val_fraction,
    }
    assert d == config_from_settings(apply_overrides(Config(), chosen))
