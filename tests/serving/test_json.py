"""The bounded JSON parser reads what json.loads reads, fails where it fails, and stops at its limits."""

from __future__ import annotations

import json
import math
import random

import pytest

from captcha_solver.serving._json import JsonLimitError, loads_bounded

_ROOMY = {"max_depth": 64, "max_values": 10**6}


def _random_value(rng: random.Random, depth: int = 0):
    pick = rng.random()
    if depth < 5 and pick < 0.3:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if depth < 5 and pick < 0.6:
        keys = ["a", "é", 'q"', "\\", "", "k\n"]
        return {rng.choice(keys): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return rng.choice(
        [0, -1, 2.5e-3, 1e300, 10**30, "", "x\u2028y", 'a"b\\c\td', "\U0001f600", True, False, None]
    )


def test_same_values_as_json_loads_on_random_documents():
    rng = random.Random(11)
    for i in range(400):
        text = json.dumps(_random_value(rng), indent=rng.choice([None, 2]), ensure_ascii=bool(i % 2))
        data = text.encode("utf-16" if i % 9 == 0 else "utf-8")
        assert loads_bounded(data, **_ROOMY) == json.loads(data), text


@pytest.mark.parametrize(
    "text", ['{"a": 1, "a": 2}', " [ ] ", '"s"', "-0.0", "[NaN, Infinity, -Infinity]", '{"x": {"y": [{}]}}']
)
def test_same_values_as_json_loads_on_edge_cases(text):
    expected, got = json.loads(text), loads_bounded(text, **_ROOMY)
    assert json.dumps(got) == json.dumps(expected) or (math.isnan(got[0]) and math.isnan(expected[0]))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[",
        "[1,]",
        '{"a":1,}',
        '{"a" 1}',
        "[1 2]",
        "{1:2}",
        '"abc',
        "[1]x",
        "tru",
        "01",
        '["\x01"]',
        '{"a":}',
        "]",
    ],
)
def test_same_errors_as_json_loads(text):
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        loads_bounded(text, **_ROOMY)
    assert (got.value.msg, got.value.pos) == (expected.value.msg, expected.value.pos)


@pytest.mark.parametrize(
    "body", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000]
)
def test_deep_nesting_stops_at_the_limit_without_recursion(body):
    with pytest.raises(RecursionError):
        json.loads(body)  # what the API used to call
    with pytest.raises(JsonLimitError, match="deeper than 16 levels") as info:
        loads_bounded(body, max_depth=16, max_values=1000)
    assert info.value.kind == "depth"
    assert loads_bounded(b"[" * 16 + b"]" * 16, max_depth=16, max_values=1000) is not None


def test_value_count_stops_early_on_a_large_body():
    body = b"[" + b"0," * 2_000_000 + b"0]"
    with pytest.raises(JsonLimitError, match="more than 100 values") as info:
        loads_bounded(body, max_depth=16, max_values=100)
    assert info.value.kind == "values"
    # The array is the first value: it stopped at its 100th zero, not after two million.
    assert info.value.pos == 1 + 2 * 99
    assert loads_bounded(b"[" + b"0," * 98 + b"0]", max_depth=16, max_values=100) == [0] * 99
