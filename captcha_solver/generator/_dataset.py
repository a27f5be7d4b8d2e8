"""Write a folder of labelled captchas (``<text>.png``), reproducibly and in parallel."""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from captcha_solver.common import exit_with_parent
from captcha_solver.common import progress as show_progress
from captcha_solver.generator._captcha import CaptchaSpec, random_text, render_captcha

__all__ = ["generate_dataset", "unique_name"]

#: Stands for the project's own asset (procedural background or bundled font).
BUILTIN = "builtin"


def unique_name(text: str, taken: set[str]) -> bool:
    """True if ``text`` can be a new file name: no case-insensitive clash with ``taken``.

    The public generator saves ``<text>.png`` and so overwrites a repeated text
    (and, on case-insensitive file systems, ``abc`` and ``ABC`` collide). We
    keep its naming but draw again on a clash so that no image is lost.
    """
    return text.lower() not in taken


def _render_one(job: tuple) -> str:
    text, state, background, font, spec, out_dir = job
    rng = random.Random()
    rng.setstate(state)
    image = render_captcha(
        text,
        rng,
        background=None if background == BUILTIN else background,
        font=None if font == BUILTIN else font,
        spec=spec,
    )
    final = Path(out_dir) / f"{text}.png"
    tmp = final.with_name(f".{text}.png.tmp")
    # Lossless either way; level 1 writes several times faster than the default 6.
    image.save(tmp, format="PNG", compress_level=1)
    os.replace(tmp, final)  # atomic: a crash never leaves a half-written captcha
    return str(final)


def generate_dataset(
    out_dir: str | Path,
    count: int,
    seed: int,
    *,
    backgrounds: Sequence[str | Path] = (BUILTIN,),
    fonts: Sequence[str | Path] = (BUILTIN,),
    spec: CaptchaSpec | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> list[Path]:
    """Generate ``count`` captchas named ``<text>.png`` into ``out_dir``.

    Each image draws its text, position and (procedural) background from a
    generator seeded by ``(seed, index)``, so the same seed gives the same
    images whatever the number of workers. Each image picks one background
    and one font uniformly from the lists; ``"builtin"`` stands for the
    project's own procedural background or bundled font.

    Parameters
    ----------
    out_dir : path
        Folder to write to (created if missing).
    count : int
        Number of images, >= 1.
    seed : int
        Seed of the whole set.
    backgrounds, fonts : sequence of paths or "builtin"
        Assets to draw with.
    spec : CaptchaSpec, optional
        The generator's parameters (default ``CaptchaSpec()``).
    workers : int, optional
        Processes to render with (default: all cores).
    progress : bool
        Show a progress bar.

    Returns
    -------
    paths : list of Path, in generation order
    """
    spec = spec if spec is not None else CaptchaSpec()
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    if not backgrounds or not fonts:
        raise ValueError("backgrounds and fonts must each name at least one asset")
    for asset in list(backgrounds) + list(fonts):
        if asset != BUILTIN and not Path(asset).is_file():
            raise FileNotFoundError(f"asset not found: {asset}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    taken = {p.stem.lower() for p in out.glob("*.png")}
    jobs = []
    for index in range(count):
        rng = random.Random(seed * 1_000_003 + index)
        background = backgrounds[rng.randrange(len(backgrounds))]
        font = fonts[rng.randrange(len(fonts))]
        text = random_text(rng, spec)
        while not unique_name(text, taken):
            text = random_text(rng, spec)
        taken.add(text.lower())
        jobs.append((text, rng.getstate(), str(background), str(font), spec, str(out)))

    workers = workers or os.cpu_count() or 1

    def rendered():
        if workers == 1 or count < 16:
            yield from map(_render_one, jobs)
        else:
            # exit_with_parent: a killed run must not leave its workers drawing forever.
            with ProcessPoolExecutor(max_workers=workers, initializer=exit_with_parent) as pool:
                yield from pool.map(_render_one, jobs, chunksize=8)

    paths = [Path(p) for p in show_progress(rendered(), total=count, desc="generate", enabled=progress)]
    return paths
