"""The images built and run: batch predict, the API, the UI in Chromium, SIGTERM, both builders.

Every container runs read-only (a tmpfs for /tmp), on the host network, as a
mapped user, with the shared folders mounted as an operator mounts them.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import time
from pathlib import Path

import httpx
import pytest

from docker_harness import REPO, TEST_GID, TEST_UID, VERSION, free_port, shared_folder, wait_http

# Debian's Chromium, launched as tests/ui/conftest.py launches it (no background traffic on a closed network).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
N_BATCH = 12
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")


def _captcha(captcha_dir: Path) -> Path:
    return min(captcha_dir.glob("*.png"))


def test_dockerfile_uses_no_buildkit_only_syntax_and_labels_the_version():
    # A `syntax` directive pulls a frontend image and RUN --mount needs BuildKit: neither works without a registry/buildx.
    assert not re.search(r"^#\s*syntax\s*=", DOCKERFILE, flags=re.MULTILINE | re.IGNORECASE)
    instructions = [line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in instructions if "--mount" in line]
    defaults = set(re.findall(r"^ARG VERSION=(\S+)$", DOCKERFILE, flags=re.MULTILINE))
    assert defaults == {VERSION}, f"Dockerfile's ARG VERSION defaults {defaults} differ from pyproject.toml's {VERSION}"


def test_images_carry_labels_user_healthcheck_and_entrypoint(docker, images):
    for image in (images.api, images.ui):
        config = docker.inspect(image)["Config"]
        labels = config["Labels"]
        assert labels["org.opencontainers.image.version"] == VERSION, image
        assert labels["org.opencontainers.image.title"] == "captcha-solver", image
        assert config["User"] == "10001:10001", image
        assert config["Healthcheck"]["Test"][0] == "CMD", image
        assert config["Entrypoint"] == ["dumb-init", "--", "captcha-solver"], image
    assert docker.inspect(images.proxy)["Config"]["Labels"]["org.opencontainers.image.version"] == VERSION


def test_api_image_holds_inference_dependencies_only(docker, images):
    probe = ("import importlib.util as u; print(' '.join(m for m in ('torch', 'sklearn', 'catboost', 'wandb', 'gradio', 'pip',"
             " 'fastapi', 'onnxruntime', 'cv2') if u.find_spec(m)))")
    found = docker.run("run", "--rm", "--network", "host", "--entrypoint", "python", images.api, "-c", probe).stdout.split()
    assert found == ["fastapi", "onnxruntime", "cv2"]
    found_ui = docker.run("run", "--rm", "--network", "host", "--entrypoint", "python", images.ui, "-c", probe).stdout.split()
    assert found_ui == ["gradio", "fastapi", "onnxruntime", "cv2"]


def test_buildkit_builds_the_same_dockerfile(docker, images):
    result = images.buildkit
    assert result.get("returncode") == 0, f"BuildKit build failed:\n{result.get('output', '')[-5000:]}"
    config = docker.inspect(result["tag"])["Config"]
    assert config["Labels"]["org.opencontainers.image.version"] == VERSION
    assert config["User"] == "10001:10001"
    help_text = docker.run("run", "--rm", "--network", "host", result["tag"], "--help").stdout
    assert "predict" in help_text and "serve" in help_text


# ---------------------------------------------------------------------------------------------- batch


@pytest.fixture(scope="module")
def batch_run(docker, images, captcha_dir, tmp_path_factory):
    """`docker run ... predict --dataset=/app/data/input` on captchas of the generator, as a mapped user."""
    root = tmp_path_factory.mktemp("batch")
    inputs = root / "data" / "input"
    inputs.mkdir(parents=True)
    names = sorted(p.name for p in captcha_dir.glob("*.png"))[:N_BATCH]
    for name in names:
        shutil.copy(captcha_dir / name, inputs / name)
    (root / "model").mkdir()
    shared_folder(root / "data")
    shared_folder(root / "model")
    result = docker.run(
        "run", "--rm", "--network", "host", "--read-only", "--tmpfs", "/tmp", "--user", f"{TEST_UID}:{TEST_GID}",
        "-v", f"{root / 'model'}:/app/model", "-v", f"{root / 'data'}:/app/data",
        images.api, "predict", "--dataset=/app/data/input", timeout=300,
    )
    return root / "data", names, result


def test_batch_predict_writes_one_row_per_captcha(batch_run):
    data, names, result = batch_run
    with open(data / "results.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(Path(r["file"]).name for r in rows) == names, result.stdout[-2000:]
    assert all(r["status"] == "ok" and r["prediction"] for r in rows), rows
    # The model inside the image reads the generator's captchas (labels are the file names).
    right = sum(r["prediction"] == Path(r["file"]).stem for r in rows)
    assert right >= N_BATCH * 0.75, f"{right}/{N_BATCH} read right"
    assert f"{N_BATCH} rows appended" in result.stdout


def test_batch_files_belong_to_the_mapped_user(batch_run):
    data, _, _ = batch_run
    for name in ("results.csv", "log_file.log"):
        path = data / name
        assert path.is_file(), f"{name} missing from the mounted data folder"
        assert (path.stat().st_uid, path.stat().st_gid) == (TEST_UID, TEST_GID), name


def test_batch_run_is_logged_in_the_shared_log(batch_run):
    data, names, _ = batch_run
    log = (data / "log_file.log").read_text(encoding="utf-8")
    # The run names what it read; one line per captcha is not required, the run itself is.
    assert "/app/data/input" in log, log[-2000:]


# ------------------------------------------------------------------------------------------------ API


class Api:
    def __init__(self, containers, image: str, root: Path, *, model_dir: Path | None = None):
        self.root = root
        self.data = shared_folder(root / "data")
        self.model = shared_folder(model_dir or root / "model")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.containers = containers
        self.started = time.monotonic()
        self.name = containers.start(
            image, "serve", "--host", "127.0.0.1", "--port", str(self.port),
            options=["--user", f"{TEST_UID}:{TEST_GID}", "-e", f"HEALTH_PORT={self.port}", "-e", "CAPTCHA_API_KEY=",
                     "-v", f"{self.model}:/app/model", "-v", f"{self.data}:/app/data"],
        )
        self.ready_s = wait_http(self.url + "/health", containers=containers, name=self.name)


@pytest.fixture(scope="module")
def api(containers, images, tmp_path_factory):
    """The API image with an empty ./model mounted: it serves the model inside the image."""
    return Api(containers, images.api, tmp_path_factory.mktemp("api"))


def _post_captcha(url: str, path: Path) -> httpx.Response:
    return httpx.post(url + "/predict", files={"file": (path.name, path.read_bytes(), "image/png")}, timeout=30)


def test_api_health_and_predict(api, captcha_dir):
    health = httpx.get(api.url + "/health", timeout=10).json()
    assert health["status"] == "ok" and health["model_loaded"]
    # The mounted ./model is empty: the model shipped inside the image answers.
    assert health["model_dir"] != "/app/model" and "site-packages" in health["model_dir"]
    path = _captcha(captcha_dir)
    response = _post_captcha(api.url, path)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok" and body["name"] == path.name and body["text"]
    with open(api.data / "results.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["file"] for r in rows] == [path.name]
    assert (api.data / "results.csv").stat().st_uid == TEST_UID


def test_api_bad_request_is_4xx_json(api):
    response = httpx.post(api.url + "/predict", content=b"not an image", headers={"content-type": "text/plain"}, timeout=10)
    assert response.status_code == 415
    body = response.json()
    assert body["error"] == "unsupported_content_type" and "multipart" in body["detail"]
    response = httpx.post(api.url + "/predict", files={"file": ("x.png", b"\x89PNG broken", "image/png")}, timeout=10)
    assert 400 <= response.status_code < 500 and response.json()["error"]


def test_api_container_healthcheck_reports_healthy(api, docker):
    # The image's HEALTHCHECK (every 15 s) probes HEALTH_PORT; ask for it now instead of waiting.
    deadline = time.monotonic() + 60
    status = ""
    while time.monotonic() < deadline:
        status = docker.inspect(api.name)["State"].get("Health", {}).get("Status", "")
        if status == "healthy":
            break
        time.sleep(1)
    assert status == "healthy", docker.inspect(api.name)["State"].get("Health")


def test_api_uses_a_mounted_model(containers, images, trained_model_dir, tmp_path, captcha_dir):
    model = tmp_path / "model"
    shutil.copytree(trained_model_dir, model)
    mounted = Api(containers, images.api, tmp_path, model_dir=model)
    # ./model, relative to the working directory /app (the mount), not the packaged model.
    assert httpx.get(mounted.url + "/health", timeout=10).json()["model_dir"] in ("model", "/app/model")
    served = httpx.get(mounted.url + "/model", timeout=10).json()
    # The manifest, plus the label every answer carries (a plain folder: its manifest's hash).
    assert served.pop("model_version").startswith("folder:")
    assert served == json.loads((model / "manifest.json").read_text(encoding="utf-8"))
    assert _post_captcha(mounted.url, _captcha(captcha_dir)).json()["status"] == "ok"


def _stop_seconds(docker, name: str) -> tuple[float, int]:
    started = time.monotonic()
    docker.run("stop", "-t", "30", name, timeout=60)
    return time.monotonic() - started, docker.inspect(name)["State"]["ExitCode"]


def test_api_stops_on_sigterm_within_seconds(containers, images, tmp_path):
    server = Api(containers, images.api, tmp_path)
    seconds, code = _stop_seconds(containers.docker, server.name)
    # docker stop sends SIGTERM and waits 30 s before SIGKILL (exit 137): it must not come to that.
    assert seconds < 5 and code != 137, (seconds, code, containers.logs(server.name))


# ------------------------------------------------------------------------------------------------- UI


@pytest.fixture(scope="module")
def ui(containers, images, tmp_path_factory):
    root = tmp_path_factory.mktemp("ui")
    port = free_port()
    data, model = shared_folder(root / "data"), shared_folder(root / "model")
    name = containers.start(
        images.ui, "ui", "--public", "--no-browser", "--host", "127.0.0.1", "--port", str(port),
        options=["--user", f"{TEST_UID}:{TEST_GID}", "-e", f"HEALTH_PORT={port}",
                 "-v", f"{model}:/app/model", "-v", f"{data}:/app/data"],
    )
    url = f"http://127.0.0.1:{port}/"
    wait_http(url, containers=containers, name=name, timeout=120)
    return {"name": name, "url": url, "data": data}


def test_ui_reads_a_captcha_in_chromium(ui, api, captcha_dir):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (Debian package 'chromium')")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the Python package 'playwright' (dev extra) is not installed")
    path = _captcha(captcha_dir)
    # The API container serves the same shipped model: the UI must give the same reading.
    expected = _post_captcha(api.url, path).json()["text"]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
            page.set_default_timeout(30_000)
            page.goto(ui["url"])
            page.locator("#captcha-input input[type=file]").set_input_files(str(path))
            page.wait_for_function(
                "() => { const e = document.querySelector('#answer textarea, #answer input'); return e && e.value !== ''; }"
            )
            answer = page.locator("#answer textarea, #answer input").first.input_value()
        finally:
            browser.close()
    assert answer == expected


def test_ui_stops_on_sigterm_within_seconds(ui, containers):
    seconds, code = _stop_seconds(containers.docker, ui["name"])
    assert seconds < 5 and code != 137, (seconds, code, containers.logs(ui["name"]))
