"""The API as a client sees it: a real uvicorn server on 127.0.0.1, requests over HTTP."""

from __future__ import annotations

import asyncio
import base64
import csv

import httpx
import pytest

from captcha_solver.common import RESULTS_COLUMNS


def _rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _check_prediction(body: dict, name: str) -> None:
    assert body["name"] == name
    assert body["status"] == "ok", body
    assert body["reader"] == "classical"
    assert 0.0 <= body["confidence"] <= 1.0
    assert len(body["char_confidences"]) == len(body["text"]) == len(body["boxes"])
    assert all(len(box) == 4 for box in body["boxes"])
    assert body["latency_ms"] > 0


def test_health_and_model(server):
    health = httpx.get(server.url + "/health").json()
    assert health["status"] == "ok" and health["model_loaded"] is True
    assert health["charset_size"] > 10
    manifest = httpx.get(server.url + "/model").json()
    assert manifest["reader"] == "classical"
    assert len(manifest["charset"]) == health["charset_size"]
    assert "metrics" in manifest and "versions" in manifest


def test_predict_multipart_reads_the_captchas(server, captcha_files):
    before = len(_rows(server.results_csv)) if server.results_csv.exists() else 0
    correct = 0
    for path in captcha_files[:6]:
        with open(path, "rb") as handle:
            response = httpx.post(server.url + "/predict", files={"file": (path.name, handle, "image/png")})
        assert response.status_code == 200, response.text
        body = response.json()
        _check_prediction(body, path.name)
        correct += body["text"] == path.stem
    # The model was trained on these very files: nearly all must be read right.
    assert correct >= 4
    rows = _rows(server.results_csv)
    assert len(rows) == before + 6
    assert [r["file"] for r in rows[-6:]] == [p.name for p in captcha_files[:6]]
    assert all(r["status"] == "ok" for r in rows[-6:])
    log = server.log_file.read_text(encoding="utf-8")
    assert all(f"predict {p.name}:" in log for p in captcha_files[:6])


def test_predict_json_base64_and_data_url(server, captcha_files):
    path = captcha_files[0]
    encoded = base64.b64encode(path.read_bytes()).decode()
    plain = httpx.post(server.url + "/predict", json={"image_base64": encoded, "name": path.name})
    assert plain.status_code == 200, plain.text
    _check_prediction(plain.json(), path.name)
    data_url = httpx.post(server.url + "/predict", json={"image_base64": "data:image/png;base64," + encoded})
    assert data_url.status_code == 200
    assert data_url.json()["name"] == "upload"
    assert data_url.json()["text"] == plain.json()["text"]


def test_predict_raw_image_body(server, captcha_files):
    path = captcha_files[1]
    response = httpx.post(
        server.url + "/predict",
        content=path.read_bytes(),
        headers={"content-type": "image/png", "x-file-name": path.name},
    )
    assert response.status_code == 200, response.text
    _check_prediction(response.json(), path.name)


def test_batch_multipart_with_one_bad_image(server, captcha_files):
    files = [("files", (p.name, p.read_bytes(), "image/png")) for p in captcha_files[:2]]
    files.append(("files", ("notes.txt", b"not an image", "text/plain")))
    response = httpx.post(server.url + "/predict/batch", files=files)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["name"] for r in results] == [captcha_files[0].name, captcha_files[1].name, "notes.txt"]
    assert [r["http_status"] for r in results] == [200, 200, 415]
    assert results[2]["status"] == "error" and results[2]["error_code"] == "not_an_image"
    assert "notes.txt" in results[2]["error"]


def test_batch_json(server, captcha_files):
    images = [
        {"image_base64": base64.b64encode(p.read_bytes()).decode(), "name": p.name} for p in captcha_files[:2]
    ]
    images.append({"image_base64": "@@@", "name": "broken"})
    response = httpx.post(server.url + "/predict/batch", json={"images": images})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["http_status"] for r in results] == [200, 200, 400]
    assert results[2]["error_code"] == "bad_base64"


def test_batch_over_the_limit_is_refused(server, captcha_files):
    files = [("files", (f"{i}.png", captcha_files[0].read_bytes(), "image/png")) for i in range(5)]
    response = httpx.post(server.url + "/predict/batch", files=files)
    assert response.status_code in (400, 413)
    assert response.json()["error"] in ("batch_too_large", "bad_request")


def test_concurrent_requests_each_log_one_row(server, captcha_files):
    before = len(_rows(server.results_csv))
    payloads = [p.read_bytes() for p in captcha_files]

    async def run():
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:

            async def one(i):
                data = payloads[i % len(payloads)]
                return await client.post("/predict", files={"file": (f"c{i}.png", data, "image/png")})

            return await asyncio.gather(*(one(i) for i in range(24)))

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [200] * 24
    rows = _rows(server.results_csv)
    assert len(rows) == before + 24
    assert sorted(r["file"] for r in rows[before:]) == sorted(f"c{i}.png" for i in range(24))
    for row in rows[before:]:
        assert list(row) == list(RESULTS_COLUMNS)
        assert row["status"] == "ok"
        assert float(row["latency_ms"]) > 0


def test_metrics_count_requests_and_errors(server, captcha_files):
    httpx.post(server.url + "/predict", files={"file": ("x.txt", b"hello", "text/plain")})
    text = httpx.get(server.url + "/metrics").text
    assert 'captcha_http_requests_total{method="POST",route="/predict",status="415"}' in text
    assert 'captcha_http_errors_total{code="not_an_image",route="/predict"}' in text
    assert "captcha_http_request_duration_seconds_bucket" in text
    assert "captcha_model_loaded 1.0" in text


def test_openapi_documents_both_request_bodies(server):
    schema = httpx.get(server.url + "/openapi.json").json()
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json", "image/png"} <= set(body)
    assert "Base64Image" in schema["components"]["schemas"]
    assert "BatchRequest" in schema["components"]["schemas"]
    responses = schema["paths"]["/predict"]["post"]["responses"]
    assert {"200", "400", "401", "413", "415", "422"} <= set(responses)
    assert schema["components"]["schemas"]["PredictResponse"]["examples"]
    assert httpx.get(server.url + "/docs").status_code == 200


@pytest.mark.parametrize("path", ["/health", "/metrics", "/openapi.json"])
def test_open_endpoints_need_no_key(path, keyed_server):
    assert httpx.get(keyed_server.url + path).status_code == 200


@pytest.fixture(scope="module")
def keyed_server(start_server):
    return start_server(env={"CAPTCHA_API_KEY": "s3cret-key"})


def test_right_api_key_is_accepted(keyed_server, captcha_files):
    path = captcha_files[0]
    response = httpx.post(
        keyed_server.url + "/predict",
        files={"file": (path.name, path.read_bytes())},
        headers={"X-API-Key": "s3cret-key"},
    )
    assert response.status_code == 200, response.text
    assert httpx.get(keyed_server.url + "/model", headers={"X-API-Key": "s3cret-key"}).status_code == 200
