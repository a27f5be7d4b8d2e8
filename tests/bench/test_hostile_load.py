"""The hostile-load bench: its payloads are what they claim to be, and it only targets loopback."""

import importlib.util
import json
from pathlib import Path

import pytest

from captcha_solver.image_io import ImageDecodeError, decode_image, probe_image

BENCH = Path(__file__).resolve().parents[2] / "bench" / "hostile_load.py"


@pytest.fixture(scope="module")
def hostile():
    spec = importlib.util.spec_from_file_location("hostile_load", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_payloads(hostile):
    bomb = hostile.png_bomb()
    assert len(bomb) < 20_000
    assert probe_image(bomb, max_pixels=10**8)[1:] == (6324, 6324)
    with pytest.raises(ImageDecodeError, match="over the limit of 4000000"):
        decode_image(bomb)
    heavy = hostile.heavy_jpeg()
    assert len(heavy) < 2 * 2**20 and probe_image(heavy)[1:] == (2000, 2000)
    assert hostile.deep_json() == b"[" * 100_000 + b"]" * 100_000
    body = hostile.big_batch_body(b"\x89PNG" + b"\x00" * 1000, size=200_000)
    assert 190_000 < len(body) <= 200_000 and len(json.loads(body)["images"]) > 32


def test_only_loopback_targets(hostile):
    with pytest.raises(SystemExit, match="must be a loopback address .*'192.0.2.1'"):
        hostile.main(["--url", "http://192.0.2.1:8000"])
