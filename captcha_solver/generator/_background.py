"""Procedural backgrounds that resemble the public generator's picture.

The public generator draws grey text on a dark-cyan "network" picture (nodes,
lines between them, translucent facets). Training only on that one picture
would teach the classifier its exact lines; these backgrounds vary per image
so the model learns what text looks like, not where one picture's lines are.
"""

from __future__ import annotations

import random

from PIL import Image, ImageDraw, ImageFilter

__all__ = ["network_background"]


def _dark_gradient(width: int, height: int, rng: random.Random) -> Image.Image:
    """A dark navy-to-teal horizontal gradient (the base tone of the picture)."""
    left = (rng.randint(0, 12), rng.randint(8, 30), rng.randint(20, 45))
    right = (rng.randint(0, 15), rng.randint(25, 70), rng.randint(40, 85))
    # A 2-pixel-wide image stretched by a bilinear resize is a cheap gradient.
    strip = Image.new("RGB", (2, 1))
    strip.putpixel((0, 0), left)
    strip.putpixel((1, 0), right)
    if rng.random() < 0.5:
        strip = strip.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return strip.resize((width, height), Image.Resampling.BILINEAR)


def network_background(
    width: int = 720,
    height: int = 300,
    *,
    seed: int | None = None,
    rng: random.Random | None = None,
    corner_radius: int = 60,
) -> Image.Image:
    """Draw a dark network-like RGBA picture, different for every seed.

    Parameters
    ----------
    width, height : int
        Size of the picture in pixels.
    seed : int, optional
        Seed for a private random generator (ignored when ``rng`` is given).
    rng : random.Random, optional
        Generator to draw from, so a caller can keep one stream per dataset.
    corner_radius : int
        Radius of the fully transparent rounded corners, as in the public
        generator's picture (0 for square corners).

    Returns
    -------
    image : PIL.Image.Image, mode "RGBA", size (width, height)
    """
    if width < 8 or height < 8:
        raise ValueError(f"background size must be at least 8x8 pixels, got {width}x{height}")
    rng = rng or random.Random(seed)
    base = _dark_gradient(width, height, rng).convert("RGBA")
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay, "RGBA")

    n_nodes = rng.randint(25, 60)
    nodes = [(rng.uniform(-40, width + 40), rng.uniform(-40, height + 40)) for _ in range(n_nodes)]

    # Translucent facets between close triples of nodes.
    for _ in range(rng.randint(4, 12)):
        a = rng.choice(nodes)
        near = sorted(nodes, key=lambda p: (p[0] - a[0]) ** 2 + (p[1] - a[1]) ** 2)[1:6]
        b, c = rng.sample(near, 2)
        tint = (rng.randint(0, 40), rng.randint(90, 200), rng.randint(100, 210), rng.randint(25, 80))
        draw.polygon([a, b, c], fill=tint)

    # Lines from every node to a few neighbours.
    for a in nodes:
        near = sorted(nodes, key=lambda p: (p[0] - a[0]) ** 2 + (p[1] - a[1]) ** 2)[1:4]
        for b in near:
            if rng.random() < 0.7:
                colour = (
                    rng.randint(0, 60),
                    rng.randint(140, 230),
                    rng.randint(150, 235),
                    rng.randint(60, 190),
                )
                draw.line([a, b], fill=colour, width=rng.choice((1, 1, 2)))

    # Glowing nodes: a soft halo and a bright core.
    for x, y in nodes:
        r = rng.uniform(2.0, 6.0)
        halo = (20, 200, 210, rng.randint(30, 90))
        draw.ellipse([x - 2 * r, y - 2 * r, x + 2 * r, y + 2 * r], fill=halo)
        core = (rng.randint(20, 110), rng.randint(200, 255), rng.randint(200, 255), 230)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=core)

    overlay = overlay.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    picture = Image.alpha_composite(base, overlay)

    if corner_radius > 0:
        mask = Image.new("L", (width, height), 0)
        ImageDraw.Draw(mask).rounded_rectangle([0, 0, width - 1, height - 1], radius=corner_radius, fill=255)
        picture.putalpha(mask)
    return picture
