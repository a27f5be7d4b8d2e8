"""POST /feedback: 1,000 verdicts (valid, repeated, unknown, bad) leave exactly the right files, rows and metrics."""

from __future__ import annotations

import base64
import os
import random
import re
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the API needs the 'serve' extra")
from fastapi.testclient import TestClient  # noqa: E402

from captcha_solver.inference import shipped_model_dir  # noqa: E402
from captcha_solver.monitoring import read_feedback  # noqa: E402
from captcha_solver.serving.api import create_app  # noqa: E402
from captcha_solver.settings import Config, apply_overrides  # noqa: E402

N_ANSWERS = 260
BAD_TEXTS = ["ab", "a_b!", "ÄBCD", "abcdefghij", "x y z", "12345678901234567890"]
BAD_BODIES = [
    b'{"accepted": true}',
    b'{"request_id": "R", "accepted": "yes"}',
    b'{"request_id": "R", "accepted": true, "extra": 1}',
    b"not json",
    b'{"request_id": "R", "accepted": true, "text": ""}',
    b'["R", true]',
    b'{"request_id": 7, "accepted": false}',
]


def _config(tmp_path: Path, **more) -> Config:
    return apply_overrides(
        Config(),
        {
            "paths.results_csv": str(tmp_path / "run" / "results.csv"),
            "paths.log_file": str(tmp_path / "run" / "log_file.log"),
            "logging.console": False,
            "feedback.dir": str(tmp_path / "fb"),
            **more,
        },
    )


def _tree(root: Path, skip: Path) -> dict:
    """Every path under ``root`` outside ``skip`` with its size and modification time."""
    found = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if Path(folder, d) != skip]
        for name in dirs + files:
            stat = Path(folder, name).stat()
            found[str(Path(folder, name).relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return found


def _metric(text: str, name: str, **labels) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{"):
            found = ",".join(sorted(line[len(name) + 1 : line.index("}")].split(",")))
            if found == wanted:
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name}{{{wanted}}} in the metrics")


def _readable(text: str, charset: str) -> bool:
    """The oracle of 'a text this model could have read': letters/digits of its charset, 3 to 6 of them."""
    return bool(re.fullmatch(r"[A-Za-z0-9]{3,6}", text)) and set(text) <= set(charset)


@pytest.fixture(scope="module")
def uploads(captcha_dir) -> list[tuple[str, bytes, str]]:
    """(name, bytes, true text) of 20 captchas: 18 PNG files and 2 re-encoded as JPEG (saved back as PNG)."""
    found = []
    for i, path in enumerate(sorted(captcha_dir.glob("*.png"))[:20]):
        data = path.read_bytes()
        if i < 2:
            data = cv2.imencode(".jpg", cv2.imread(str(path)), [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
        found.append((path.stem + (".jpg" if i < 2 else ".png"), data, path.stem))
    return found


def test_a_thousand_verdicts(tmp_path, uploads):
    cfg = _config(tmp_path, **{"feedback.keep_images": True})
    client = TestClient(create_app(shipped_model_dir(), cfg))
    charset = client.get("/model").json()["charset"]
    answers = []  # (answer, upload)
    for start in range(0, N_ANSWERS, 20):
        batch = [uploads[i % len(uploads)] for i in range(start, min(start + 20, N_ANSWERS))]
        body = {"images": [{"image_base64": base64.b64encode(d).decode(), "name": n} for n, d, _ in batch]}
        response = client.post("/predict/batch", json=body)
        assert response.status_code == 200, response.text
        answers.extend(zip(response.json()["results"], batch))
    assert len({a["request_id"] for a, _ in answers}) == N_ANSWERS
    assert all(re.fullmatch(r"[0-9a-f]{32}", a["request_id"]) for a, _ in answers)
    version = answers[0][0]["model_version"]

    # A file the program did not write, under the name the first labelled verdict will want.
    (tmp_path / "fb" / "labelled").mkdir(parents=True)
    users = tmp_path / "fb" / "labelled" / f"{answers[1][1][2]}.png"
    users.write_bytes(b"the user's own file")

    rng = random.Random(7)
    valid = []
    for i, (answer, upload) in enumerate(answers):
        accepted, text = [(True, None), (True, upload[2]), (False, upload[2]), (False, None)][i % 4]
        valid.append(({"request_id": answer["request_id"], "accepted": accepted, "text": text}, 200, i))
    bad_texts = [
        (
            {"request_id": answers[rng.randrange(N_ANSWERS)][0]["request_id"], "accepted": False, "text": t},
            422,
            None,
        )
        for t in (BAD_TEXTS * 25)
    ]
    bodies = [(BAD_BODIES[i % len(BAD_BODIES)], 422, None) for i in range(100)]
    unknown = [
        ({"request_id": f"{rng.getrandbits(128):032x}", "accepted": True}, 404, None) for _ in range(250)
    ]
    repeats = [(dict(post, text=None), 409, None) for post, _, _ in rng.sample(valid, 240)]
    # Bad texts come before the ids' own verdicts (a 422 leaves the id waiting), repeats after them.
    phases = [bad_texts + bodies + unknown[:80], valid + unknown[80:170], repeats + unknown[170:]]
    posts = []
    for phase in phases:
        rng.shuffle(phase)
        posts.extend(phase)
    assert len(posts) == 1000

    before = _tree(tmp_path, tmp_path / "fb")
    statuses = Counter()
    saved = {}
    for body, expected, index in posts:
        if isinstance(body, bytes):
            response = client.post("/feedback", content=body, headers={"content-type": "application/json"})
        else:
            response = client.post("/feedback", json={k: v for k, v in body.items() if v is not None})
        assert response.status_code == expected, (body, response.text)
        statuses[expected] += 1
        if expected != 200:
            error = response.json()
            assert set(error) == {"error", "detail"}
            assert (
                error["error"]
                == {404: "unknown_request_id", 409: "feedback_repeated", 422: error["error"]}[expected]
            )
            assert error["error"] in (
                "unknown_request_id",
                "feedback_repeated",
                "invalid_text",
                "invalid_request",
            )
        else:
            saved[index] = response.json()
    assert statuses == {200: 260, 409: 240, 404: 250, 422: 250}
    assert _tree(tmp_path, tmp_path / "fb") == before  # nothing written outside the feedback folder

    # The files: the oracle replays the verdicts in order (shelves labelled, labelled-2, ... per text).
    taken: dict[str, set] = {"labelled": {users.stem.lower()}}
    expected_files = {}
    accepted = 0
    for body, _, index in (p for p in posts if p[1] == 200):
        answer, (name, data, truth) = answers[index]
        accepted += body["accepted"]
        label = body["text"] or (answer["text"] if body["accepted"] else "")
        label = label if _readable(label, charset) else ""
        if label:
            shelf = 1
            while label.lower() in taken.setdefault("labelled" if shelf == 1 else f"labelled-{shelf}", set()):
                shelf += 1
            folder = "labelled" if shelf == 1 else f"labelled-{shelf}"
            taken[folder].add(label.lower())
            where = f"{folder}/{label}.png"
        elif not body["accepted"]:
            where = f"unlabelled/{body['request_id']}.png"
        else:
            where = ""
        assert saved[index]["saved_as"] == where and saved[index]["label"] == label
        if where:
            expected_files[where] = data
    files = {str(p.relative_to(tmp_path / "fb")): p for p in (tmp_path / "fb").rglob("*") if p.is_file()}
    assert set(files) == {*expected_files, "feedback.csv", "labelled/" + users.name}
    assert users.read_bytes() == b"the user's own file"  # never overwritten
    for where, data in expected_files.items():
        png = files[where].read_bytes()
        assert png.startswith(b"\x89PNG")
        original = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert np.array_equal(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), original), where

    rows = read_feedback(tmp_path / "fb" / "feedback.csv")
    assert len(rows) == 260
    by_id = {r["request_id"]: r for r in rows}
    for index, answer in saved.items():
        row = by_id[answer["request_id"]]
        assert row["saved_as"] == answer["saved_as"] and row["model_version"] == version
        assert row["prediction"] == answers[index][0]["text"]

    metrics = client.get("/metrics").text
    assert _metric(metrics, "captcha_accept_rate", model_version=version) == pytest.approx(accepted / 260)
    assert _metric(metrics, "captcha_feedback_total", model_version=version, verdict="accepted") == accepted
    assert (
        _metric(metrics, "captcha_feedback_total", model_version=version, verdict="rejected")
        == 260 - accepted
    )


def test_without_keep_images_only_the_records_are_written(tmp_path, uploads):
    client = TestClient(create_app(shipped_model_dir(), _config(tmp_path)))
    name, data, truth = uploads[3]
    answer = client.post("/predict", files={"file": (name, data, "image/png")}).json()
    response = client.post(
        "/feedback", json={"request_id": answer["request_id"], "accepted": False, "text": truth}
    )
    assert response.status_code == 200 and response.json()["saved_as"] == ""
    assert [p.name for p in (tmp_path / "fb").iterdir()] == ["feedback.csv"]
    assert read_feedback(tmp_path / "fb" / "feedback.csv")[0]["text"] == truth


def test_feedback_needs_the_api_key_like_predict(tmp_path, uploads, monkeypatch):
    monkeypatch.setenv("CAPTCHA_API_KEY", "s3cret")
    client = TestClient(create_app(shipped_model_dir(), _config(tmp_path)))
    name, data, _ = uploads[4]
    answer = client.post("/predict", files={"file": (name, data)}, headers={"X-API-Key": "s3cret"}).json()
    body = {"request_id": answer["request_id"], "accepted": True}
    refused = client.post("/feedback", json=body)
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
    assert client.post("/feedback", json=body, headers={"X-API-Key": "s3cret"}).status_code == 200
    assert len(read_feedback(tmp_path / "fb" / "feedback.csv")) == 1  # the refused one left no row


def test_a_body_over_4_kib_is_refused_before_it_is_read(tmp_path):
    client = TestClient(create_app(shipped_model_dir(), _config(tmp_path)))
    response = client.post(
        "/feedback", content=b"{" + b" " * 5000 + b"}", headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and response.json()["error"] == "request_too_large"
    assert not (tmp_path / "fb").exists()
