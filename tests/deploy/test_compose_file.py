"""docker-compose.yaml: validated by the docker client when one is installed, and read for what it promises."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yaml"


def _compose_commands() -> list[list[str]]:
    found = []
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], check=False, capture_output=True, text=True)
        if probe.returncode == 0:
            found.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        found.append(["docker-compose"])
    return found


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_compose_config_validates():
    commands = _compose_commands()
    if not commands:
        pytest.skip("neither 'docker compose' nor 'docker-compose' is installed (Debian: apt-get install docker-compose)")
    for command in commands:
        result = subprocess.run(
            [*command, "-f", str(COMPOSE), "config", "-q"], check=False, capture_output=True, text=True, cwd=REPO, timeout=120
        )
        assert result.returncode == 0, f"{' '.join(command)} config: {result.stderr}"


def test_services_and_shared_volumes(compose):
    services = compose["services"]
    assert {"api", "proxy", "ui", "solver"} <= set(services)
    for name in ("api", "ui", "solver"):
        volumes = services[name]["volumes"]
        assert "./model:/app/model" in volumes and "./data:/app/data" in volumes, name


def test_api_replicas_behind_one_port(compose):
    api, proxy = compose["services"]["api"], compose["services"]["proxy"]
    assert "ports" not in api  # only the proxy publishes a port
    assert int(str(api["deploy"]["replicas"]).split(":-")[-1].rstrip("}")) >= 2
    assert any(str(p).endswith(":8000") for p in proxy["ports"])
    assert proxy["depends_on"]["api"]["condition"] == "service_healthy"
    mount = next(v for v in proxy["volumes"] if "nginx.conf" in v)
    conf = (REPO / mount.split(":")[0]).read_text(encoding="utf-8")
    assert "server api:8000" in conf


def test_batch_service_runs_the_cli(compose):
    solver = compose["services"]["solver"]
    assert solver["profiles"] == ["batch"]
    # The image's entrypoint is the CLI, so `run --rm solver predict --dataset=...` runs `captcha-solver predict`.
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["captcha-solver"]' in dockerfile


def test_ui_is_public_and_read_only_without_token(compose):
    ui = compose["services"]["ui"]
    assert "--public" in ui["command"]
    assert ui["environment"]["CAPTCHA_ADMIN_TOKEN"] == "${CAPTCHA_ADMIN_TOKEN:-}"
