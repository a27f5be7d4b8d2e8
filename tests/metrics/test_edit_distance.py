import random

import pytest

from captcha_solver.metrics import align, edit_distance


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("", "", 0),
        ("", "abc", 3),
        ("abc", "", 3),
        ("abc", "abc", 0),
        ("kitten", "sitting", 3),
        ("flaw", "lawn", 2),
        ("ab", "ba", 2),
        ("abc", "ABC", 3),
        ("aXbYc", "abc", 2),
    ],
)
def test_golden_distances(a, b, expected):
    assert edit_distance(a, b) == expected
    assert edit_distance(b, a) == expected
    assert align(a, b).distance == expected


def _reference(a, b):
    # Full-matrix textbook version, to check the two-row version with prefix/suffix stripping.
    table = [[i + j if i == 0 or j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = min(
                table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
    return table[-1][-1]


def test_random_strings_match_reference_and_alignment():
    rng = random.Random(0)
    for _ in range(300):
        a = "".join(rng.choice("abc") for _ in range(rng.randint(0, 8)))
        b = "".join(rng.choice("abc") for _ in range(rng.randint(0, 8)))
        expected = _reference(a, b)
        assert edit_distance(a, b) == expected
        alignment = align(a, b)
        assert alignment.distance == expected
        # The alignment spells out both strings.
        assert "".join(t for t, _ in alignment.pairs if t is not None) == a
        assert "".join(p for _, p in alignment.pairs if p is not None) == b


def test_alignment_parts():
    alignment = align("kitten", "sitting")
    assert alignment.pairs == (
        ("k", "s"),
        ("i", "i"),
        ("t", "t"),
        ("t", "t"),
        ("e", "i"),
        ("n", "n"),
        (None, "g"),
    )
    assert alignment.matches == 4
    assert alignment.substitutions == [("k", "s"), ("e", "i")]


def test_alignment_keeps_most_matches_on_ties():
    assert align("ab", "ba").matches == 1


def test_non_string_argument_rejected():
    with pytest.raises(TypeError, match=r"argument b is None of type NoneType; expected a str"):
        edit_distance("abc", None)
