"""Deciding readers and settings from the data: each rule, each reason, and what the configuration fixes."""

import pytest

from captcha_solver.settings import Config, ConfigError, apply_overrides
from captcha_solver.training import MIN_SEGMENTATION_YIELD, plan_training
from captcha_solver.training._plan import MAX_EPOCHS
from captcha_solver.training.neural import config_from_settings


def _survey(**changes):
    base = {
        "images": 825,
        "charset": "2345678bcdefgmnpwxy",
        "lengths": {"5": 825},
        "sampled": 300,
        "image_height": 50.0,
        "image_width": 200.0,
        "line_height": 42.0,
        "segmentation_yield": 0.005,
    }
    return {**base, **changes}


def test_joined_glyphs_train_only_the_neural_reader_with_the_reason():
    plan = plan_training(_survey(), Config())
    assert plan.readers == ["neural"]
    assert "not trained" in plan.reasons["classical"] and "0.5%" in plan.reasons["classical"]
    # Small set: many epochs, no early stop, standard widths at height 32.
    chosen = plan.chosen
    assert chosen["neural.height"] == 32 and chosen["neural.stem"] == "pool"
    assert chosen["neural.frame_stride"] == 2 and chosen["neural.batch_size"] == 32
    assert chosen["neural.epochs"] == chosen["neural.patience"] > 30
    assert chosen["training.validation_fraction"] == pytest.approx(82 / 825, abs=1e-4)
    # Every "from the data" value is resolved: the neural config builds.
    config_from_settings(plan.config)
    assert plan.to_dict()["readers"] == ["neural"] and set(plan.to_dict()) == {
        "readers",
        "chosen",
        "reasons",
        "survey",
    }


def test_segmentable_style_trains_both_and_keeps_the_neural_reader_small():
    plan = plan_training(
        _survey(segmentation_yield=0.93, line_height=69, image_height=300, image_width=720), Config()
    )
    assert plan.readers == ["classical", "neural"]
    assert plan.chosen["neural.height"] == 32  # beside a classical reader
    assert "at least" in plan.reasons["classical"]


def test_a_large_set_of_tall_text_gets_the_imagecaptcha_recipe():
    survey = _survey(images=10000, image_height=60, image_width=160, line_height=56, lengths={"4": 1, "6": 1})
    chosen = plan_training(survey, Config()).chosen
    assert chosen["neural.height"] == 64 and chosen["neural.stem"] == "strided"
    assert chosen["neural.channels"] == "16,32,64,128" and chosen["neural.frame_stride"] == 4
    assert chosen["neural.batch_size"] == 64
    assert chosen["neural.weight_decay"] == 0.05 and chosen["neural.dropout"] == 0.3
    assert chosen["training.validation_fraction"] == 0.03  # 300 of 10,000
    # A large set trains for as many epochs as the budget affords (cut to it while training).
    assert chosen["neural.epochs"] == 1000


def test_long_texts_on_narrow_images_keep_frame_stride_two():
    survey = _survey(images=10000, image_height=60, image_width=100, line_height=56, lengths={"10": 5})
    assert plan_training(survey, Config()).chosen["neural.frame_stride"] == 2


def test_configured_values_are_kept_and_said_so():
    cfg = apply_overrides(
        Config(), {"neural.height": 48, "neural.dropout": 0.2, "training.validation_fraction": 0.2}
    )
    plan = plan_training(_survey(), cfg)
    assert plan.chosen["neural.height"] == 48 and plan.reasons["neural.height"] == "set in the configuration"
    assert plan.config.neural.dropout == 0.2 and plan.config.training.validation_fraction == 0.2


def test_an_explicit_reader_is_obeyed_and_no_torch_means_classical():
    assert plan_training(_survey(), Config(), reader="classical").readers == ["classical"]
    assert plan_training(_survey(segmentation_yield=0.99), Config(), reader="neural").readers == ["neural"]
    plan = plan_training(_survey(), Config(), torch_available=False)
    assert plan.readers == ["classical"] and "only reader" in plan.reasons["classical"]
    assert "torch" in plan.reasons["neural"]


def test_the_yield_threshold_is_the_boundary():
    at = plan_training(_survey(segmentation_yield=MIN_SEGMENTATION_YIELD), Config())
    below = plan_training(_survey(segmentation_yield=MIN_SEGMENTATION_YIELD - 0.01), Config())
    assert at.classical and not below.classical


def test_unresolved_settings_cannot_build_a_network():
    with pytest.raises(ValueError, match="neural.height.*from the data"):
        config_from_settings(Config())


def test_sets_of_every_size_splice():
    small = plan_training(_survey(images=100), Config())
    large = plan_training(_survey(images=10000), Config())
    assert small.chosen["neural.splice"] == large.chosen["neural.splice"] == 0.5
    assert "more neighbours than the labels show" in large.reasons["neural.splice"]
    assert config_from_settings(small.config).aug_splice == 0.5
    fixed = plan_training(_survey(images=100), apply_overrides(Config(), {"neural.splice": 0.2}))
    assert (
        fixed.chosen["neural.splice"] == 0.2 and fixed.reasons["neural.splice"] == "set in the configuration"
    )


def test_unlabelled_captchas_size_the_self_training_rounds():
    alone = plan_training(_survey(images=100), Config())
    assert alone.round_epochs(500) is None  # no self-training: the plan's epochs hold
    with_pool = plan_training(_survey(images=100), Config(), unlabelled=536)
    # The first training is the labelled set's own; each round sees about 8,000 captchas (at least 10
    # epochs) at a quarter of the learning rate.
    assert with_pool.chosen["neural.epochs"] == alone.chosen["neural.epochs"]
    assert "536 unlabelled" in with_pool.reasons["neural.epochs"]
    assert with_pool.round_epochs(580) == 14 and with_pool.round_epochs(3_999) == 10
    # A large round trains as long as its share of the budget affords, as a large labelled set does.
    assert with_pool.round_epochs(4_000) == with_pool.round_epochs(10_000) == MAX_EPOCHS
    assert with_pool.round_learning_rate == pytest.approx(Config().neural.learning_rate / 4)
    # Epochs set in the configuration are kept for every round.
    fixed = plan_training(
        _survey(images=100), apply_overrides(Config(), {"neural.epochs": 40}), unlabelled=536
    )
    assert fixed.chosen["neural.epochs"] == 40 and fixed.round_epochs(580) is None


def test_small_rounds_run_five_times_large_ones_three_and_a_set_value_holds():
    small = plan_training(_survey(images=100), Config(), unlabelled=536)
    assert small.chosen["training.self_training_rounds"] == 5
    assert "rounds of 616 captchas (fewer than 4000)" in small.reasons["training.self_training_rounds"]
    assert small.config.training.self_training_rounds == 5
    large = plan_training(_survey(images=1000), Config(), unlabelled=9000)
    assert large.chosen["training.self_training_rounds"] == 3
    assert "share what the budget leaves" in large.reasons["training.self_training_rounds"]
    # 3,200 training + 800 unlabelled make a large round, as the second opinion counts it.
    assert (
        plan_training(_survey(images=4000), Config(), unlabelled=800).config.training.self_training_rounds
        == 3
    )
    alone = plan_training(_survey(images=100), Config())
    assert alone.reasons["training.self_training_rounds"] == "no unlabelled captchas: no round runs"
    fixed = plan_training(
        _survey(images=100), apply_overrides(Config(), {"training.self_training_rounds": 2}), unlabelled=536
    )
    assert fixed.chosen["training.self_training_rounds"] == 2
    assert fixed.reasons["training.self_training_rounds"] == "set in the configuration"


@pytest.mark.parametrize("value", [-1, 21, 2.5])
def test_a_round_count_out_of_range_is_refused_by_name(value):
    # 0 is "from the data"; 1-20 rounds are allowed.
    with pytest.raises(
        ConfigError, match=r"training\.self_training_rounds = .* expected an integer in \[0, 20\]"
    ):
        apply_overrides(Config(), {"training.self_training_rounds": value})


def test_splice_setting_is_checked():
    with pytest.raises(Exception, match="splice"):
        apply_overrides(Config(), {"neural.splice": 1.5})
