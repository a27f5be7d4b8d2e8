"""The app in-process: JSON parsed off the event loop, reads waiting for memory, reservations given back."""

from __future__ import annotations

import asyncio
import base64
import threading
import time

import httpx
import pytest

import captcha_solver.serving._bodies
from captcha_solver.serving.api import create_app
from captcha_solver.settings import load_config


def _app(root, model_dir, **serving):
    overrides = {
        "paths.results_csv": str(root / "results.csv"),
        "paths.log_file": str(root / "log_file.log"),
        "logging.console": False,
        "tracking.wandb_mode": "disabled",
        **{f"serving.{k}": v for k, v in serving.items()},
    }
    return create_app(model_dir=model_dir, config=load_config(None, overrides))


@pytest.fixture(scope="module")
def app(tmp_path_factory, trained_model_dir):
    """The app with the default limits, served in-process (httpx's ASGI transport, no socket)."""
    return _app(tmp_path_factory.mktemp("inprocess"), trained_model_dir)


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=30)


def _count_concurrent_reads(uploads, pause_s: float = 0.05, barrier: threading.Barrier | None = None) -> dict:
    """Wrap ``uploads.read`` to record the most reads running at once."""
    real, lock, state = uploads.read, threading.Lock(), {"now": 0, "most": 0}

    def counted(*args):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        try:
            if barrier is not None:
                barrier.wait()  # passes only when two reads run at the same time
            time.sleep(pause_s)
            return real(*args)
        finally:
            with lock:
                state["now"] -= 1

    uploads.read = counted
    return state


def _post_four(app, data: bytes) -> list[int]:
    async def run():
        async with _client(app) as client:
            return await asyncio.gather(
                *(client.post("/predict", files={"file": (f"c{k}.png", data, "image/png")}) for k in range(4))
            )

    return [r.status_code for r in asyncio.run(run())]


def test_json_is_parsed_off_the_event_loop(app, captcha_files, monkeypatch):
    real = captcha_solver.serving._bodies.loads_bounded
    started, released = threading.Event(), threading.Event()
    seen = {}

    def slow_parse(*args, **kwargs):
        seen["on_loop_thread"] = threading.current_thread() is threading.main_thread()
        started.set()
        # Blocks whatever thread runs it until /health has answered: on the event loop, /health never could.
        seen["health_answered_meanwhile"] = released.wait(timeout=5)
        return real(*args, **kwargs)

    monkeypatch.setattr(captcha_solver.serving._bodies, "loads_bounded", slow_parse)
    image = base64.b64encode(captcha_files[0].read_bytes()).decode()

    async def run():
        async with _client(app) as client:
            batch = asyncio.create_task(
                client.post("/predict/batch", json={"images": [{"image_base64": image}]})
            )
            while not started.is_set():
                await asyncio.sleep(0.01)
            health = await client.get("/health")
            released.set()
            return health, await batch

    health, batch = asyncio.run(run())
    assert health.status_code == 200 and batch.status_code == 200, batch.text
    assert seen == {"on_loop_thread": False, "health_answered_meanwhile": True}


def test_images_too_big_for_the_decoding_budget_are_read_one_at_a_time(
    tmp_path, trained_model_dir, captcha_files
):
    # 1 MiB is less than one captcha's reservation (8.6 MB for 720 x 300): each read runs alone, in turn.
    small = _app(tmp_path, trained_model_dir, decode_memory_mb=1)
    state = _count_concurrent_reads(small.state.uploads)
    assert _post_four(small, captcha_files[0].read_bytes()) == [200] * 4
    assert state["most"] == 1
    assert small.state.images_budget.used == 0


def test_the_default_decoding_budget_lets_captchas_run_together(app, captcha_files):
    # The contrast to the test above: two reads meet at a barrier, so they do run at the same time.
    uploads = app.state.uploads
    real = uploads.read
    try:
        state = _count_concurrent_reads(uploads, pause_s=0.0, barrier=threading.Barrier(2, timeout=10))
        assert _post_four(app, captcha_files[0].read_bytes()) == [200] * 4
        assert state["most"] >= 2
    finally:
        uploads.read = real


def test_every_reservation_is_given_back(app, captcha_files):
    image = captcha_files[0].read_bytes()
    deep = b"[" * 10_000 + b"]" * 10_000

    async def chunks():  # 4 MB of spaces without a Content-Length: over the /predict limit, under the batch one
        for _ in range(40):
            yield b" " * 100_000

    async def run():
        async with _client(app) as client:
            json_type = {"content-type": "application/json"}
            return [
                await client.post("/predict", files={"file": ("ok.png", image, "image/png")}),
                await client.post("/predict", content=b"{not json", headers=json_type),
                await client.post("/predict", content=deep, headers=json_type),
                await client.post("/predict/batch", content=deep, headers=json_type),
                await client.post("/predict/batch", content=chunks(), headers=json_type),
                await client.post("/predict", content=chunks(), headers=json_type),
                await client.post(
                    "/predict", content=image[: len(image) // 2], headers={"content-type": "image/png"}
                ),
            ]

    statuses = [r.status_code for r in asyncio.run(run())]
    assert statuses == [200, 400, 400, 400, 400, 413, 422]
    assert app.state.bodies_budget.used == 0 and not app.state.bodies_budget._waiters
    assert app.state.images_budget.used == 0 and not app.state.images_budget._waiters


def test_a_big_image_waits_for_its_turn_at_most_wait_s_then_gets_a_503(
    tmp_path, trained_model_dir, captcha_files
):
    # With 1 MiB, every image is "big": one at a time, and the next one waits wait_s at most.
    small = _app(tmp_path, trained_model_dir, decode_memory_mb=1)
    small.state.images_budget.wait_s = 0.2
    uploads = small.state.uploads
    real, reading, finish = uploads.read, threading.Event(), threading.Event()

    def held_read(*args):
        reading.set()
        finish.wait(timeout=10)
        return real(*args)

    uploads.read = held_read
    data = captcha_files[0].read_bytes()

    async def run():
        async with _client(small) as client:
            first = asyncio.create_task(
                client.post("/predict", files={"file": ("first.png", data, "image/png")})
            )
            while not reading.is_set():
                await asyncio.sleep(0.01)
            second = await client.post("/predict", files={"file": ("second.png", data, "image/png")})
            finish.set()
            return await first, second

    first, second = asyncio.run(run())
    assert first.status_code == 200
    assert second.status_code == 503 and second.headers["retry-after"] == "1"
    assert second.json()["error"] == "server_busy" and "second.png" in second.json()["detail"]
    rows = (tmp_path / "results.csv").read_text(encoding="utf-8")
    assert "second.png" in rows and "first.png" in rows  # the refused one has its row too
    assert small.state.images_budget.used == 0
