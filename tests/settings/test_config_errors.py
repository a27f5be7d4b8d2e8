"""Config mistakes that used to pass silently or end in a traceback: each is a ConfigError naming the key."""

import math
import re

import pytest

from captcha_solver.settings import ConfigError, Range, config_from_dict, load_config, parse_config_yaml


def _write(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "yaml_value, key, shown",
    [
        (".nan", "segmentation.threshold_ratio", "nan"),  # NaN compares False with both bounds
        (".inf", "classifier.svm_c", "inf"),  # a Range with no upper bound
        ("-.inf", "routing.min_confidence", "-inf"),
    ],
)
def test_nan_and_infinity_in_the_file_are_refused(tmp_path, yaml_value, key, shown):
    section, name = key.split(".")
    path = _write(tmp_path, f"{section}:\n  {name}: {yaml_value}\n")
    with pytest.raises(
        ConfigError,
        match=re.escape(f"{path}: {key} = {shown} is invalid: expected a number") + ".*not NaN or infinity",
    ) as info:
        load_config(path)
    assert info.value.key == key


@pytest.mark.parametrize("value", [".nan", ".inf", float("nan"), float("inf")])
def test_nan_and_infinity_in_overrides_are_refused(tmp_path, value):
    with pytest.raises(
        ConfigError,
        match=r"^overrides: training.validation_fraction = (nan|inf) is invalid.*not NaN or infinity",
    ):
        load_config(_write(tmp_path, ""), overrides={"training.validation_fraction": value})
    with pytest.raises(ConfigError, match=r"^<dict>: classifier.logreg_c = (nan|inf) is invalid"):
        config_from_dict({"classifier": {"logreg_c": float(value) if isinstance(value, float) else math.inf}})


def test_range_refuses_nan():
    assert not Range(0, 1)(float("nan")) and not Range(0)(float("nan")) and not Range(None, 1)(float("nan"))


def test_duplicate_key_names_the_key_and_both_lines(tmp_path):
    path = _write(tmp_path, "training:\n  seed: 1\n  validation_fraction: 0.2\n  seed: 2\n")
    with pytest.raises(
        ConfigError, match=re.escape(f"{path}: duplicate key 'training.seed' at line 4 (first at line 2)")
    ) as info:
        load_config(path)
    assert info.value.key == "training.seed"


def test_duplicate_section_is_refused(tmp_path):
    path = _write(tmp_path, "training:\n  seed: 1\nsegmentation:\n  max_glyphs: 8\ntraining:\n  seed: 3\n")
    with pytest.raises(
        ConfigError, match=re.escape(f"{path}: duplicate key 'training' at line 5 (first at line 1)")
    ):
        load_config(path)


def test_same_key_in_two_sections_and_merge_keys_are_fine():
    data = parse_config_yaml("a: &base {seed: 1}\nb:\n  <<: *base\n  seed: 2\nc: {seed: 1}\n")
    assert data == {"a": {"seed": 1}, "b": {"seed": 2}, "c": {"seed": 1}}
    assert parse_config_yaml("") is None
    recursive = parse_config_yaml("a: &x [1, *x]\n")  # an alias loop is not a duplicate, and does not hang
    assert recursive["a"][0] == 1


def test_unclosed_list_in_an_override_is_a_config_error(tmp_path):
    with pytest.raises(
        ConfigError,
        match=re.escape("overrides: input.extensions = '[.png' is invalid: expected a list of strings")
        + r".*written \[a, b\] or a,b; the brackets do not parse \(YAML syntax error at line 1, column 6",
    ) as info:
        load_config(_write(tmp_path, ""), overrides={"input.extensions": "[.png"})
    assert info.value.key == "input.extensions"
    # The forms the message offers do work.
    config = load_config(_write(tmp_path, ""), overrides={"input.extensions": "[.png, .jpg]"})
    assert config.input.extensions == (".png", ".jpg")
