"""A real uvicorn server on loopback, started the way a user starts it: ``python model.py serve``."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the API needs the 'serve' extra: pip install -e '.[serve]'")
pytest.importorskip("httpx", reason="the API tests need httpx (dev extra)")

from api_server import Server  # noqa: E402 - after the skips


@pytest.fixture(scope="session")
def start_server(tmp_path_factory, trained_model_dir):
    """Factory: ``start_server(settings=..., env=...)`` -> a ready :class:`Server`, stopped at the end."""
    servers: list[Server] = []

    def start(*, settings: dict | None = None, env: dict | None = None) -> Server:
        server = Server(tmp_path_factory.mktemp("server"), trained_model_dir, settings=settings, env=env)
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def server(start_server):
    """The API with a small upload limit (256 KiB, captchas are ~120 KB) and batch limit (4), no API key."""
    return start_server(settings={"serving": {"max_upload_bytes": 262144, "max_batch": 4}})


@pytest.fixture(scope="session")
def captcha_files(captcha_dir) -> list[Path]:
    return sorted(captcha_dir.glob("*.png"))[:12]


@pytest.fixture(scope="session")
def default_server(start_server):
    """The API with the default serving and input limits (2 MiB uploads, 16 MiB batch bodies, 4 Mpx), no API key."""
    return start_server()
