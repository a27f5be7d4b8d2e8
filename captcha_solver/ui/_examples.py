"""Example captchas for the predict page, made by the project's generator when the UI starts.

A newcomer has no captcha at hand: these are drawn as the public generator draws them, from a fixed seed
(``ui.examples_seed``), into a folder the UI owns (never the user's folders).
"""

from __future__ import annotations

import random
from pathlib import Path

from captcha_solver.generator import random_text, render_captcha

__all__ = ["make_examples"]


def make_examples(folder: str | Path, count: int, seed: int) -> list[tuple[Path, str]]:
    """Draw ``count`` captchas into ``folder`` (``example-1.png``...); the same seed draws the same ones.

    Parameters
    ----------
    folder : path
        An existing folder the caller owns.
    count : int
        How many (``ui.examples``); 0 draws none.
    seed : int
        Seed of the texts, positions and backgrounds (``ui.examples_seed``).

    Returns
    -------
    examples : list of (path, text)
        Each PNG file and the text drawn in it.
    """
    folder = Path(folder)
    rng = random.Random(seed)
    examples = []
    for index in range(1, count + 1):
        text = random_text(rng)
        path = folder / f"example-{index}.png"
        render_captcha(text, rng).save(path, format="PNG")
        examples.append((path, text))
    return examples
