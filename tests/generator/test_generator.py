import random

import numpy as np
import pytest
from PIL import Image, ImageFont

from captcha_solver.generator import (
    CHARSET,
    DEFAULT_FONT,
    CaptchaSpec,
    generate_dataset,
    network_background,
    random_text,
    render_captcha,
)


def test_charset_is_the_public_generators():
    assert len(CHARSET) == 62 and len(set(CHARSET)) == 62
    assert set(CHARSET) == set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def test_random_text_length_and_symbols():
    rng = random.Random(0)
    texts = [random_text(rng) for _ in range(2000)]
    assert {len(t) for t in texts} == {3, 4, 5, 6}
    assert set("".join(texts)) == set(CHARSET)


def test_render_follows_the_process():
    """Fill (180,180,180) drawn at a box-derived position, then blur: grey text on the background."""
    spec = CaptchaSpec()
    flat = Image.new("RGBA", (720, 300), (0, 0, 0, 255))
    image = render_captcha("HI", random.Random(1), background=flat, spec=spec)
    assert image.mode == "RGBA" and image.size == (720, 300)
    rgb = np.asarray(image)[..., :3].astype(int)
    # Text is neutral grey (R = G = B) and peaks near the fill after the blur.
    assert np.all(rgb[..., 0] == rgb[..., 1]) and np.all(rgb[..., 1] == rgb[..., 2])
    assert 150 <= rgb.max() <= 180
    # The ink's width matches the font mask's box (plus the blur's reach).
    font = ImageFont.truetype(str(DEFAULT_FONT), spec.font_size)
    box = font.getmask("HI").getbbox()
    width = box[2] - box[0]
    cols = np.flatnonzero(rgb[..., 0].max(axis=0) > 90)
    assert abs((cols[-1] - cols[0] + 1) - width) <= 4


def test_same_seed_same_images(tmp_path):
    a = generate_dataset(tmp_path / "a", 6, seed=7, workers=1)
    b = generate_dataset(tmp_path / "b", 6, seed=7, workers=2)
    assert [p.name for p in a] == [p.name for p in b]
    for pa, pb in zip(a, b):
        assert np.array_equal(np.asarray(Image.open(pa)), np.asarray(Image.open(pb)))
    c = generate_dataset(tmp_path / "c", 6, seed=8, workers=1)
    assert [p.name for p in c] != [p.name for p in a]


def test_file_name_is_the_label_and_no_case_collision(tmp_path):
    paths = generate_dataset(tmp_path, 40, seed=3, workers=1)
    stems = [p.stem for p in paths]
    assert len({s.lower() for s in stems}) == 40
    assert all(p.suffix == ".png" and set(p.stem) <= set(CHARSET) for p in paths)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


def test_real_assets_are_taken_by_path(tmp_path):
    background = tmp_path / "bg.png"
    Image.new("RGBA", (720, 300), (10, 60, 70, 255)).save(background)
    paths = generate_dataset(
        tmp_path / "out", 3, seed=1, backgrounds=[background], fonts=[DEFAULT_FONT], workers=1
    )
    rgb = np.asarray(Image.open(paths[0]).convert("RGB")).astype(int)
    # Away from the text the picture is the given flat background.
    assert tuple(rgb[0, 0]) == (10, 60, 70)


def test_procedural_background_varies_and_is_dark():
    a = np.asarray(network_background(seed=1))
    b = np.asarray(network_background(seed=2))
    assert a.shape == (300, 720, 4)
    assert not np.array_equal(a, b)
    assert a[..., 0].mean() < 80  # dark, cyan-ish: little red
    assert a[0, 0, 3] == 0 and a[150, 360, 3] == 255  # transparent rounded corners


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"count": 0}, "count must be >= 1"),
        ({"count": 1, "backgrounds": ["/nope.png"]}, "asset not found: /nope.png"),
        ({"count": 1, "fonts": []}, "at least one asset"),
    ],
)
def test_generate_errors(tmp_path, kwargs, match):
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        generate_dataset(tmp_path, seed=0, **kwargs)


def test_text_too_large_for_background():
    with pytest.raises(ValueError, match="does not fit"):
        render_captcha("WWWWWWWWWW", random.Random(0), background=Image.new("RGBA", (200, 60)))
