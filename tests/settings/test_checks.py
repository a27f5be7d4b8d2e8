import pytest

from captcha_solver.settings import Choice, NonEmpty, Predicate, Range, Subset


def test_range_bounds():
    assert Range(0, 1, inclusive=False)(0.5)
    assert not Range(0, 1, inclusive=False)(0)
    assert not Range(0, 1, inclusive=False)(1)
    assert Range(0, 1)(1)
    assert Range(0, 1, inclusive=(False, True))(1)
    assert Range(1)(10**9) and not Range(1)(0)
    assert Range(None, 5)(-3) and not Range(None, 5, inclusive=False)(5)


def test_range_describe():
    assert Range(0, 1, inclusive=False).describe("a number") == "a number in (0, 1)"
    assert Range(1, 64).describe("an integer") == "an integer in [1, 64]"
    assert Range(0, None, inclusive=False).describe("a number") == "a number > 0"
    assert Range(None, 5).describe("a number") == "a number <= 5"


def test_range_needs_a_bound():
    with pytest.raises(ValueError, match="Range needs at least one of low and high"):
        Range()


def test_other_checks():
    assert Choice("a", "b")("a") and not Choice("a", "b")("c")
    assert Subset("a", "b")(["b"]) and not Subset("a", "b")([]) and not Subset("a", "b")(["a", "a"])
    assert Subset("a", allow_empty=True)([])
    assert NonEmpty()("x") and not NonEmpty()("")
    assert Predicate(lambda v: v > 2, "more than 2")(3)
    assert Predicate(lambda v: v > 2, "more than 2").describe("an integer") == "an integer with more than 2"
