"""Levenshtein distance and the character alignment behind every character-level metric."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Alignment", "align", "edit_distance"]


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: fewest insertions, deletions and substitutions turning ``a`` into ``b``.

    Runs the classic dynamic programme over two rows, so memory is
    ``O(min(len(a), len(b)))``; the common prefix and suffix are stripped
    first because they never change the distance and captcha predictions
    are mostly right.

    Parameters
    ----------
    a, b : str
        The two strings (case-sensitive).

    Returns
    -------
    int
        The distance, between ``abs(len(a) - len(b))`` and ``max(len(a), len(b))``.

    Raises
    ------
    TypeError
        If ``a`` or ``b`` is not a string.
    """
    for name, value in (("a", a), ("b", b)):
        if not isinstance(value, str):
            raise TypeError(
                f"edit_distance argument {name} is {value!r} of type {type(value).__name__}; expected a str"
            )
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    a, b = a[start:end_a], b[start:end_b]
    if len(a) < len(b):
        a, b = b, a  # the row runs over the shorter string
    if not b:
        return len(a)
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(
                min(
                    previous[j] + 1,  # delete char_a
                    current[j - 1] + 1,  # insert char_b
                    previous[j - 1] + (char_a != char_b),  # match or substitute
                )
            )
        previous = current
    return previous[-1]


@dataclass(frozen=True)
class Alignment:
    """One optimal alignment of a label with a prediction.

    Attributes
    ----------
    pairs : tuple of (str or None, str or None)
        ``(label_char, predicted_char)`` in order; ``(c, None)`` is a
        deletion (label character missed), ``(None, c)`` an insertion
        (extra predicted character), otherwise a match or a substitution.
    """

    pairs: tuple[tuple[str | None, str | None], ...]

    @property
    def distance(self) -> int:
        """Edit distance: the number of pairs that are not matches."""
        return sum(1 for t, p in self.pairs if t != p)

    @property
    def matches(self) -> int:
        """Label characters predicted correctly at their aligned place."""
        return sum(1 for t, p in self.pairs if t is not None and t == p)

    @property
    def substitutions(self) -> list[tuple[str, str]]:
        """``(label_char, predicted_char)`` of each substitution, in order."""
        return [(t, p) for t, p in self.pairs if t is not None and p is not None and t != p]


def align(label: str, prediction: str) -> Alignment:
    """Align ``label`` with ``prediction`` at minimum edit distance, keeping as many matches as possible.

    Several alignments can share the minimum distance (``"ab"`` against
    ``"ba"`` is two substitutions, or a deletion, a match and an
    insertion). Ties are broken towards more matches so that character
    accuracy never under-counts, then deterministically (diagonal, then
    deletion, then insertion) so that confusion counts are reproducible.

    Parameters
    ----------
    label : str
        The true text.
    prediction : str
        The predicted text.

    Returns
    -------
    Alignment
        The alignment; its ``distance`` equals ``edit_distance(label, prediction)``.
    """
    rows, cols = len(label), len(prediction)
    # Cost is the pair (distance, -matches), compared lexicographically.
    cost = [[(0, 0)] * (cols + 1) for _ in range(rows + 1)]
    for i in range(1, rows + 1):
        cost[i][0] = (i, 0)
    for j in range(1, cols + 1):
        cost[0][j] = (j, 0)
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            same = label[i - 1] == prediction[j - 1]
            d, m = cost[i - 1][j - 1]
            diagonal = (d, m - 1) if same else (d + 1, m)
            d, m = cost[i - 1][j]
            deletion = (d + 1, m)
            d, m = cost[i][j - 1]
            insertion = (d + 1, m)
            cost[i][j] = min(diagonal, deletion, insertion)
    pairs: list[tuple[str | None, str | None]] = []
    i, j = rows, cols
    while i > 0 or j > 0:
        here = cost[i][j]
        if i > 0 and j > 0:
            same = label[i - 1] == prediction[j - 1]
            d, m = cost[i - 1][j - 1]
            if here == ((d, m - 1) if same else (d + 1, m)):
                pairs.append((label[i - 1], prediction[j - 1]))
                i, j = i - 1, j - 1
                continue
        if i > 0 and here == (cost[i - 1][j][0] + 1, cost[i - 1][j][1]):
            pairs.append((label[i - 1], None))
            i -= 1
            continue
        pairs.append((None, prediction[j - 1]))
        j -= 1
    pairs.reverse()
    return Alignment(tuple(pairs))
