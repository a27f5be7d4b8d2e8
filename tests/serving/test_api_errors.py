"""Every bad request gets a 4xx with a JSON error body, never a 500, and the server keeps serving."""

from __future__ import annotations

import httpx
import pytest

from tests.pngs import black_png


def _assert_json_error(response: httpx.Response, status: int, code: str, *, mentions: str = "") -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    assert mentions in body["detail"]
    return body


def test_empty_body(server):
    _assert_json_error(httpx.post(server.url + "/predict"), 400, "empty_body")
    _assert_json_error(
        httpx.post(server.url + "/predict", headers={"content-type": "multipart/form-data; boundary=xyz"}),
        400,
        "empty_body",
    )


def test_empty_file(server):
    response = httpx.post(server.url + "/predict", files={"file": ("blank.png", b"", "image/png")})
    _assert_json_error(response, 400, "empty_image", mentions="blank.png")


def test_non_image(server):
    response = httpx.post(
        server.url + "/predict", files={"file": ("notes.txt", b"hello, world\n", "text/plain")}
    )
    _assert_json_error(response, 415, "not_an_image", mentions="notes.txt")


def test_truncated_image(server, captcha_files):
    data = captcha_files[0].read_bytes()
    response = httpx.post(
        server.url + "/predict", files={"file": ("cut.png", data[: len(data) // 2], "image/png")}
    )
    _assert_json_error(response, 422, "undecodable_image", mentions="truncated")


def test_oversized_upload(server):
    # 300 KB against serving.max_upload_bytes = 256 KiB: the body fits the request limit
    # (room for base64 and multipart framing), the file does not.
    response = httpx.post(
        server.url + "/predict", files={"file": ("big.png", b"\x89PNG" + b"\x00" * 300_000, "image/png")}
    )
    _assert_json_error(response, 413, "image_too_large", mentions="serving.max_upload_bytes")
    response = httpx.post(
        server.url + "/predict", content=b"\x89PNG" + b"\x00" * 300_000, headers={"content-type": "image/png"}
    )
    _assert_json_error(response, 413, "image_too_large", mentions="serving.max_upload_bytes")


def test_oversized_request_is_refused_before_reading(server):
    # 1 MB: over the body limit, refused from Content-Length.
    response = httpx.post(
        server.url + "/predict", files={"file": ("huge.png", b"\x89PNG" + b"\x00" * 1_000_000, "image/png")}
    )
    _assert_json_error(response, 413, "request_too_large")


def test_oversized_upload_without_content_length(server):
    def chunks():
        for _ in range(40):
            yield b"\x00" * 16384

    response = httpx.post(server.url + "/predict", content=chunks(), headers={"content-type": "image/png"})
    _assert_json_error(response, 413, "request_too_large")


def test_decompression_bomb(server):
    bomb = black_png(12_000, bit_depth=8)
    assert len(bomb) < 262_144
    response = httpx.post(server.url + "/predict", files={"file": ("bomb.png", bomb, "image/png")})
    _assert_json_error(response, 413, "too_many_pixels", mentions="12000x12000")


def test_wrong_field_name(server, captcha_files):
    response = httpx.post(
        server.url + "/predict", files={"image": ("a.png", captcha_files[0].read_bytes(), "image/png")}
    )
    _assert_json_error(response, 422, "wrong_field", mentions="'image'")
    response = httpx.post(
        server.url + "/predict", data={"file": "just text"}, files={"other": ("a.png", b"x")}
    )
    _assert_json_error(response, 422, "wrong_field", mentions="not text")
    response = httpx.post(server.url + "/predict", json={"image": "aGVsbG8="})
    _assert_json_error(response, 422, "wrong_field", mentions="image_base64")


def test_bad_base64(server):
    response = httpx.post(server.url + "/predict", json={"image_base64": "this is not base64!"})
    _assert_json_error(response, 400, "bad_base64")


def test_invalid_json(server):
    response = httpx.post(
        server.url + "/predict", content=b"{not json", headers={"content-type": "application/json"}
    )
    _assert_json_error(response, 400, "invalid_json")


def test_unsupported_content_type(server):
    response = httpx.post(server.url + "/predict", content=b"hello", headers={"content-type": "text/plain"})
    _assert_json_error(response, 415, "unsupported_content_type", mentions="multipart/form-data")


def test_unknown_path_and_method(server):
    _assert_json_error(httpx.get(server.url + "/nope"), 404, "not_found")
    _assert_json_error(httpx.get(server.url + "/predict"), 405, "method_not_allowed")


@pytest.fixture(scope="module")
def keyed(start_server):
    return start_server(env={"CAPTCHA_API_KEY": "s3cret-key"})


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}])
def test_wrong_or_missing_api_key(keyed, captcha_files, headers):
    files = {"file": ("a.png", captcha_files[0].read_bytes(), "image/png")}
    _assert_json_error(httpx.post(keyed.url + "/predict", files=files, headers=headers), 401, "unauthorized")
    _assert_json_error(
        httpx.post(keyed.url + "/predict/batch", files=files, headers=headers), 401, "unauthorized"
    )
    _assert_json_error(httpx.get(keyed.url + "/model", headers=headers), 401, "unauthorized")


def test_refused_uploads_are_logged_and_server_survives(server, captcha_files):
    httpx.post(
        server.url + "/predict", files={"file": ("junk.bin", b"\x00\x01\x02", "application/octet-stream")}
    )
    text = server.results_csv.read_text(encoding="utf-8")
    assert "junk.bin" in text
    assert "junk.bin" in server.log_file.read_text(encoding="utf-8")
    ok = httpx.post(
        server.url + "/predict", files={"file": ("a.png", captcha_files[0].read_bytes(), "image/png")}
    )
    assert ok.status_code == 200
    assert server.process.poll() is None
    assert "Traceback" not in server.errors()
