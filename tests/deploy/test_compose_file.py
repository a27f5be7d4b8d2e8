"""docker-compose.yaml: validated by the docker client when one is installed, and read for what it promises."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yaml"
PORTS = REPO / "docker-compose.override.yaml"
TEST_OVERRIDE = REPO / "deploy" / "compose.test.yaml"
# What the test override requires (tests/deploy/test_compose_stack.py sets real values).
TEST_ENV = {
    "SOLVER_IMAGE": "a", "UI_IMAGE": "b", "PROXY_IMAGE": "c", "API_PORT_A": "1", "API_PORT_B": "2", "PROXY_PORT": "3",
    "UI_PORT": "4", "DATA_DIR": "/tmp/d", "MODEL_DIR": "/tmp/m", "PROXY_CONF": "/tmp/p.conf", "SOLVER_UID": "5", "SOLVER_GID": "5",
    "PROMETHEUS_IMAGE": "e", "PROMETHEUS_PORT": "6", "PROMETHEUS_CONF": "/tmp/prometheus.yml",
}


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
    """The deployed pair (what `docker compose up` reads) and CI's pair, with every compose found."""
    commands = _compose_commands()
    if not commands:
        pytest.skip("neither 'docker compose' nor 'docker-compose' is installed (Debian: apt-get install docker-compose)")
    env = {k: v for k, v in os.environ.items() if k not in TEST_ENV}
    for command in commands:
        for files, extra in (([COMPOSE, PORTS], {}), ([COMPOSE, TEST_OVERRIDE], TEST_ENV)):
            args = [*command, *(a for f in files for a in ("-f", str(f))), "config", "-q"]
            result = subprocess.run(args, check=False, capture_output=True, text=True, cwd=REPO, timeout=120, env={**env, **extra})
            assert result.returncode == 0, f"{' '.join(args)}: {result.stderr}"


def test_services_and_shared_volumes(compose):
    services = compose["services"]
    assert {"api", "proxy", "ui", "solver"} <= set(services)
    for name in ("api", "ui", "solver"):
        volumes = services[name]["volumes"]
        assert "./model:/app/model" in volumes and "./data:/app/data" in volumes, name
        # Read-only containers: the shared folders and the /tmp tmpfs are all they write to.
        assert services[name]["read_only"] is True and services[name]["tmpfs"] == ["/tmp"], name


def test_api_replicas_behind_one_port(compose):
    api, proxy = compose["services"]["api"], compose["services"]["proxy"]
    ports = yaml.safe_load(PORTS.read_text(encoding="utf-8"))["services"]
    # Only the proxy and the UI publish a port, and only in the override compose reads by default.
    assert set(ports) == {"proxy", "ui"}
    assert not [name for name, service in compose["services"].items() if "ports" in service]
    assert int(str(api["deploy"]["replicas"]).split(":-")[-1].rstrip("}")) >= 2
    assert any(str(p).endswith(":8000") for p in ports["proxy"]["ports"])
    assert proxy["depends_on"]["api"]["condition"] == "service_healthy"
    mount = next(v for v in proxy["volumes"] if "nginx.conf" in v)
    conf = (REPO / mount.split(":")[0]).read_text(encoding="utf-8")
    assert "server api:8000" in conf


def test_batch_service_runs_the_cli(compose):
    solver = compose["services"]["solver"]
    assert solver["profiles"] == ["batch"]
    # The image's entrypoint is the CLI (under dumb-init), so `run --rm solver predict --dataset=...` runs `captcha-solver predict`.
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["dumb-init", "--", "captcha-solver"]' in dockerfile


def test_ui_is_public_and_read_only_without_token(compose):
    ui = compose["services"]["ui"]
    assert "--public" in ui["command"]
    assert ui["environment"]["CAPTCHA_ADMIN_TOKEN"] == "${CAPTCHA_ADMIN_TOKEN:-}"


def test_prometheus_scrapes_every_replica_and_loads_the_rules(compose):
    """The prometheus service: its config finds every api replica by DNS, and the mounted rules are the ones it loads."""
    service = compose["services"]["prometheus"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
    config = yaml.safe_load((REPO / mounts["/etc/prometheus/prometheus.yml"]).read_text(encoding="utf-8"))
    assert "/etc/prometheus/rules.yml" in config["rule_files"]
    rules = yaml.safe_load((REPO / mounts["/etc/prometheus/rules.yml"]).read_text(encoding="utf-8"))
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {"CaptchaDrift", "CaptchaLowAcceptRate", "CaptchaModelSwapFailed", "CaptchaServerErrors"} <= alerts
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "captcha-api"]
    (discovery,) = job["dns_sd_configs"]
    assert discovery["names"] == ["api"] and discovery["type"] == "A" and discovery["port"] == 8000
    assert service["build"]["context"] == "./deploy/prometheus"
    dockerfile = (REPO / "deploy" / "prometheus" / "Dockerfile").read_text(encoding="utf-8")
    assert "ARG BASE_IMAGE" in dockerfile and "install -y --no-install-recommends prometheus" in dockerfile
