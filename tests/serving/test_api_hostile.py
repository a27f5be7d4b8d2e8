"""Hostile requests against a real server: bombs, oversized and deeply nested bodies get a JSON 4xx, at once."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx

from tests.pngs import black_png


def _json_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code, body
    return body["detail"]


def test_bombs_under_the_old_pixel_limit_are_refused(default_server, captcha_files):
    bomb = black_png(6324)

    async def four_at_once():
        async with httpx.AsyncClient(base_url=default_server.url, timeout=60) as client:
            return await asyncio.gather(
                *(
                    client.post("/predict", files={"file": (f"bomb{k}.png", bomb, "image/png")})
                    for k in range(4)
                )
            )

    for response in asyncio.run(four_at_once()):
        detail = _json_error(response, 413, "too_many_pixels")
        assert "6324x6324 = 39992976 pixels, over the limit of 4000000 (input.max_pixels)" in detail
    rows = default_server.results_csv.read_text(encoding="utf-8")
    assert all(f"bomb{k}.png" in rows for k in range(4))  # refused uploads are still recorded
    image = captcha_files[0].read_bytes()
    ok = httpx.post(default_server.url + "/predict", files={"file": ("a.png", image, "image/png")})
    assert ok.status_code == 200, ok.text


def test_deeply_nested_json_is_a_400(server):
    deep = b"[" * 100_000 + b"]" * 100_000
    for path in ("/predict", "/predict/batch"):
        response = httpx.post(server.url + path, content=deep, headers={"content-type": "application/json"})
        detail = _json_error(response, 400, "invalid_json")
        assert "deeper than 16 levels" in detail
    deep_object = b'{"images": ' * 50 + b"[]" + b"}" * 50
    json_type = {"content-type": "application/json"}
    response = httpx.post(server.url + "/predict/batch", content=deep_object, headers=json_type)
    _json_error(response, 400, "invalid_json")
    assert "Traceback" not in server.errors()
    assert "RecursionError" not in server.log_file.read_text(encoding="utf-8")


def _raw_request(port: int, head: bytes, timeout: float = 10.0) -> tuple[bytes, dict]:
    """Send a request head (no body) and return the status line and JSON body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        reply = b""
        while b"\r\n\r\n" not in reply:
            reply += sock.recv(65536) or b""
        headers, _, body = reply.partition(b"\r\n\r\n")
        fields = dict(line.partition(b": ")[::2] for line in headers.split(b"\r\n")[1:])
        length = int({k.lower(): v for k, v in fields.items()}[b"content-length"])
        while len(body) < length:
            body += sock.recv(65536)
    return headers.split(b"\r\n")[0], json.loads(body)


def test_batch_body_over_the_limit_is_refused_from_its_content_length(default_server):
    # 48 MB declared, nothing sent: the answer must come from the header alone, before any body byte.
    head = (
        b"POST /predict/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 48000000\r\n\r\n"
    )
    status, body = _raw_request(default_server.port, head)
    assert status.startswith(b"HTTP/1.1 413"), status
    assert body["error"] == "request_too_large"
    expected = "48000000 bytes, over the limit of 16777216 bytes for /predict/batch (serving.max_batch_bytes)"
    assert expected in body["detail"]


def test_batch_body_over_the_limit_is_refused_while_it_streams(default_server):
    def chunks():  # 17 MiB without a Content-Length (chunked)
        for _ in range(17 * 16):
            yield b" " * 65536

    json_type = {"content-type": "application/json"}
    response = httpx.post(
        default_server.url + "/predict/batch", content=chunks(), headers=json_type, timeout=60
    )
    detail = _json_error(response, 413, "request_too_large")
    assert (
        "over the limit of 16777216 bytes for /predict/batch (serving.max_batch_bytes); refused after"
        in detail
    )


def test_batch_with_too_many_values_is_refused_before_it_is_built(server):
    # About 1 MB of zeros (under the test server's body limit): half a million values that json.loads
    # would build and pydantic then reject one by one, on the event loop.
    body = b'{"images": [' + b"0," * 500_000 + b"0]}"
    response = httpx.post(
        server.url + "/predict/batch", content=body, headers={"content-type": "application/json"}
    )
    detail = _json_error(response, 413, "batch_too_large")
    assert "more than 78 values" in detail and "serving.max_batch = 4" in detail
