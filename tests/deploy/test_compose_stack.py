"""docker-compose.yaml brought up for real, with CI's override (deploy/compose.test.yaml).

Both API services, the proxy (Debian's nginx, deploy/nginx.conf with the two
loopback addresses) and the UI run on the host network; requests through the
proxy reach both replicas and land in the one shared results.csv; Prometheus
(Debian's, deploy/prometheus/) scrapes both replicas and has loaded the alert
rules; the batch service runs with ``run --rm``; ``down`` leaves nothing behind.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import yaml

from docker_harness import LABEL, REPO, SESSION, TEST_GID, TEST_UID, free_port, shared_folder, wait_http

N_REQUESTS = 24
N_BATCH = 6


def _compose_command(docker) -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if docker.run("compose", "version", check=False).returncode == 0:
        return [docker.cli, "compose"]
    pytest.skip("neither docker-compose nor the compose plugin is installed (Debian: apt-get install docker-compose)")


def proxy_site(api_ports: tuple[int, int], proxy_port: int) -> str:
    """deploy/nginx.conf with the two API services' loopback addresses and the proxy's own port."""
    conf = (REPO / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    server = re.search(r"^(\s*)server api:8000( [^;]*)?;$", conf, flags=re.MULTILINE)
    assert server, "deploy/nginx.conf has no 'server api:8000 ...;' upstream line"
    indent, options = server.group(1), server.group(2) or ""
    servers = "\n".join(f"{indent}server 127.0.0.1:{port}{options};" for port in api_ports)
    conf = conf[: server.start()] + servers + conf[server.end():]
    conf, listens = re.subn(r"^(\s*)listen 8000;$", rf"\g<1>listen 127.0.0.1:{proxy_port};", conf, flags=re.MULTILINE)
    assert listens == 1, "deploy/nginx.conf has no 'listen 8000;' line"
    return conf


def prometheus_config(api_ports: tuple[int, int]) -> str:
    """deploy/prometheus/prometheus.yml with the two API services' loopback addresses (no DNS on the host network)."""
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"] = {"scrape_interval": "2s", "evaluation_interval": "2s"}
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "captcha-api"]
    del job["dns_sd_configs"]
    job["static_configs"] = [{"targets": [f"127.0.0.1:{port}" for port in api_ports]}]
    return yaml.safe_dump(config)


class Stack:
    def __init__(self, docker, images, root: Path, captcha_dir: Path):
        self.docker = docker
        self.project = f"captcha-ci-{SESSION}"
        self.data = root / "data"
        (self.data / "input").mkdir(parents=True)
        self.batch = sorted(p.name for p in captcha_dir.glob("*.png"))[-N_BATCH:]
        for name in self.batch:
            shutil.copy(captcha_dir / name, self.data / "input" / name)
        shared_folder(self.data)
        model = shared_folder(root / "model")
        self.ports = {"a": free_port(), "b": free_port(), "proxy": free_port(), "ui": free_port(),
                      "prometheus": free_port()}
        conf = root / "proxy.conf"
        conf.write_text(proxy_site((self.ports["a"], self.ports["b"]), self.ports["proxy"]), encoding="utf-8")
        conf.chmod(0o644)
        scrape = root / "prometheus.yml"
        scrape.write_text(prometheus_config((self.ports["a"], self.ports["b"])), encoding="utf-8")
        scrape.chmod(0o644)
        self.env = {
            "SOLVER_IMAGE": images.api, "UI_IMAGE": images.ui, "PROXY_IMAGE": images.proxy,
            "API_PORT_A": str(self.ports["a"]), "API_PORT_B": str(self.ports["b"]),
            "PROXY_PORT": str(self.ports["proxy"]), "UI_PORT": str(self.ports["ui"]),
            "DATA_DIR": str(self.data), "MODEL_DIR": str(model), "PROXY_CONF": str(conf),
            "SOLVER_UID": str(TEST_UID), "SOLVER_GID": str(TEST_GID), "CAPTCHA_API_KEY": "",
            "PROMETHEUS_IMAGE": images.prometheus, "PROMETHEUS_PORT": str(self.ports["prometheus"]),
            "PROMETHEUS_CONF": str(scrape),
        }
        self.command = [*_compose_command(docker), "-f", str(REPO / "docker-compose.yaml"),
                        "-f", str(REPO / "deploy" / "compose.test.yaml"), "-p", self.project]
        self.url = f"http://127.0.0.1:{self.ports['proxy']}"
        self.prometheus = f"http://127.0.0.1:{self.ports['prometheus']}"

    def compose(self, *args, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([*self.command, *args], capture_output=True, text=True, timeout=timeout, cwd=REPO,
                                env={**os.environ, **self.env})
        if check and result.returncode != 0:
            logs = subprocess.run([*self.command, "logs", "--tail", "40"], capture_output=True, text=True, cwd=REPO,
                                  env={**os.environ, **self.env}).stdout
            raise AssertionError(f"compose {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}\n{logs[-4000:]}")
        return result

    def leftovers(self) -> list[str]:
        listed = self.docker.run("ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={self.project}")
        return listed.stdout.split()


@pytest.fixture(scope="module")
def stack(docker, images, captcha_dir, tmp_path_factory):
    running = Stack(docker, images, tmp_path_factory.mktemp("stack"), captcha_dir)
    try:
        running.compose("up", "-d", "--no-build", "api", "api-b", "proxy", "ui", "prometheus", timeout=600)
        wait_http(running.url + "/health", timeout=120)
        wait_http(running.prometheus + "/-/ready", timeout=120)
        wait_http(f"http://127.0.0.1:{running.ports['ui']}/", timeout=120)
        yield running
    finally:
        running.compose("down", "--volumes", "--timeout", "20", check=False)


def _results(data: Path) -> list[dict]:
    with open(data / "results.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _predictions(url: str) -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("captcha_predictions_total{"))


def test_requests_through_the_proxy_reach_both_replicas(stack, captcha_dir):
    image = min(captcha_dir.glob("*.png")).read_bytes()
    replicas = {f"http://127.0.0.1:{stack.ports[k]}" for k in ("a", "b")}
    before = {url: _predictions(url) for url in replicas}
    served_by = Counter()
    names = [f"proxy-{i:03d}.png" for i in range(N_REQUESTS)]
    for name in names:
        # A new connection each time: nginx's round robin must spread them, not keep-alive affinity.
        response = httpx.post(stack.url + "/predict", files={"file": (name, image, "image/png")}, timeout=30)
        assert response.status_code == 200, response.text
        assert response.json()["name"] == name
        served_by[response.headers["x-upstream"]] += 1
    assert set(served_by) == {f"127.0.0.1:{stack.ports[k]}" for k in ("a", "b")}, served_by
    # Each replica counted what it served: both did real work.
    for url in replicas:
        assert _predictions(url) - before[url] == served_by[url.removeprefix("http://")], url
    # One row per request in the one shared results.csv, whichever replica wrote it.
    rows = Counter(r["file"] for r in _results(stack.data) if r["file"].startswith("proxy-"))
    assert rows == Counter(names)


def test_health_through_the_proxy_and_the_ui(stack):
    health = httpx.get(stack.url + "/health", timeout=10).json()
    assert health["status"] == "ok"
    assert httpx.get(f"http://127.0.0.1:{stack.ports['ui']}/", timeout=10).status_code == 200
    # Docker runs an image's first HEALTHCHECK one interval (15 s) after the container starts: a service
    # that already answers is "(health: starting)" until then. Each must become healthy within a few probes.
    services = ("api", "api-b", "proxy", "prometheus")
    deadline = time.monotonic() + 90
    while True:
        states = stack.docker.run("ps", "--filter", f"label=com.docker.compose.project={stack.project}",
                                  "--format", "{{.Label \"com.docker.compose.service\"}} {{.Status}}").stdout
        healthy = [s for s in services if re.search(rf"^{s} Up .*\(healthy\)", states, flags=re.MULTILINE)]
        if len(healthy) == len(services) or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert healthy == list(services), states


def _prometheus(stack, path: str, **params) -> dict:
    answer = httpx.get(stack.prometheus + path, params=params, timeout=10).json()
    assert answer["status"] == "success", answer
    return answer["data"]


def test_prometheus_scrapes_both_replicas_and_loads_the_rules(stack):
    replicas = {f"127.0.0.1:{stack.ports[k]}" for k in ("a", "b")}
    deadline = time.monotonic() + 60
    while True:  # the first scrapes come within a few scrape intervals
        targets = _prometheus(stack, "/api/v1/targets", state="active")["activeTargets"]
        up = {t["labels"]["instance"] for t in targets if t["labels"]["job"] == "captcha-api" and t["health"] == "up"}
        if up == replicas or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert up == replicas, targets
    groups = _prometheus(stack, "/api/v1/rules")["groups"]
    alerts = {rule["name"] for group in groups for rule in group["rules"] if rule["type"] == "alerting"}
    assert {"CaptchaDrift", "CaptchaLowAcceptRate", "CaptchaModelSwapFailed", "CaptchaReplicaDown"} <= alerts
    assert all(rule["health"] != "err" for group in groups for rule in group["rules"]), groups
    # Both replicas' answer metrics are in Prometheus, by instance.
    found = _prometheus(stack, "/api/v1/query", query="captcha_http_requests_total")["result"]
    assert {series["metric"]["instance"] for series in found} == replicas


def test_batch_service_runs_predict(stack):
    result = stack.compose("run", "--rm", "solver", "predict", "--dataset=/app/data/input", timeout=300)
    assert f"{N_BATCH} rows appended" in result.stdout, result.stdout[-2000:]
    batch_rows = [r for r in _results(stack.data) if r["file"].startswith("/app/data/input/")]
    assert sorted(Path(r["file"]).name for r in batch_rows) == stack.batch
    assert (stack.data / "results.csv").stat().st_uid == TEST_UID
    # run --rm removed its container: only the five services remain.
    assert len(stack.leftovers()) == 5


def test_down_leaves_nothing_running(stack):
    stack.compose("down", "--volumes", "--timeout", "20")
    assert stack.leftovers() == []
    running = stack.docker.run("ps", "-q", "--filter", f"label={LABEL}={SESSION}").stdout.split()
    assert running == [] or all(stack.docker.inspect(c)["State"]["Running"] is False for c in running)
    with pytest.raises(httpx.TransportError):
        httpx.get(stack.url + "/health", timeout=2)
