"""Docker test harness: a Docker engine, the project's images built once per session, and containers that clean up after themselves.

The engine is the one ``$DOCKER_HOST`` names (``.ci/run`` starts its own); with
none reachable the Docker tests are skipped, unless ``CAPTCHA_REQUIRE_DOCKER=1``
(set by ``.ci/run``), where they fail: CI must run them. Containers run on the
host network and listen on loopback ports chosen free at run time.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
# The local base image deploy/base-image.sh makes; used when present, else the official slim image.
LOCAL_BASE = "captcha-solver-base:bookworm"
BUILD_TIMEOUT_S = 1800
# Labels every container of a session carries, so that a crashed run's leftovers can be found.
SESSION = uuid.uuid4().hex[:8]
LABEL = "org.captcha-solver.test-session"


def docker_cli() -> str | None:
    """The docker client: $DOCKER, else Debian's (it matches Debian's engine and has BuildKit built in), else PATH's."""
    if os.environ.get("DOCKER"):
        return os.environ["DOCKER"]
    if os.path.exists("/usr/bin/docker"):
        return "/usr/bin/docker"
    return shutil.which("docker")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Docker:
    cli: str

    def run(self, *args, timeout: float = 120, check: bool = True, env: dict | None = None, **kwargs):
        result = subprocess.run(
            [self.cli, *map(str, args)], capture_output=True, text=True, timeout=timeout,
            env={**os.environ, **(env or {})}, **kwargs,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(map(str, args))} failed ({result.returncode}):\n"
                                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def inspect(self, name: str) -> dict:
        return json.loads(self.run("inspect", name).stdout)[0]

    def build(self, tag: str, context: Path, *, buildkit: bool = False, **build_args) -> subprocess.Popen:
        """Start a build (host network: no bridge here); the caller waits for it."""
        args = [self.cli, "build", "--network", "host", "-t", tag]
        for key, value in build_args.items():
            if key == "target":
                args += ["--target", value]
            else:
                args += ["--build-arg", f"{key}={value}"]
        env = {**os.environ, "DOCKER_BUILDKIT": "1" if buildkit else "0"}
        if buildkit:
            args += ["--progress", "plain"]
        return subprocess.Popen([*args, str(context)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def _engine_problem(cli: str | None) -> str | None:
    if not cli:
        return "no docker client installed (Debian: apt-get install docker.io; .ci/run does it)"
    try:
        probe = subprocess.run([cli, "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "the Docker engine did not answer within 30 s"
    if probe.returncode != 0:
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        return f"no Docker engine reachable at {host} ({probe.stderr.strip()[:200]}); .ci/run starts one"
    return None


@pytest.fixture(scope="session")
def docker() -> Docker:
    cli = docker_cli()
    problem = _engine_problem(cli)
    if problem:
        if os.environ.get("CAPTCHA_REQUIRE_DOCKER") == "1":
            pytest.fail(f"CAPTCHA_REQUIRE_DOCKER=1 but {problem}")
        pytest.skip(problem)
    return Docker(cli)


@dataclass
class Images:
    api: str
    ui: str
    proxy: str
    prometheus: str
    base: str
    buildkit: dict  # {"tag", "returncode", "output"} once the BuildKit build ends
    build_seconds: dict


def _wait(process: subprocess.Popen, what: str) -> str:
    try:
        output, _ = process.communicate(timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, f"{what} failed ({process.returncode}):\n{output[-5000:]}"
    return output


@pytest.fixture(scope="session")
def images(docker) -> Images:
    """The API, UI, proxy and Prometheus images built with the classic builder; the API also with BuildKit, alongside.

    The base is ``$CAPTCHA_BASE_IMAGE``, else the local Debian base if it exists,
    else the official ``python:3.11-slim`` (which needs a registry).
    """
    base = os.environ.get("CAPTCHA_BASE_IMAGE") or (
        LOCAL_BASE if docker.run("image", "inspect", LOCAL_BASE, check=False).returncode == 0 else "python:3.11-slim"
    )
    proxy_base = base if base != "python:3.11-slim" else "debian:bookworm-slim"
    revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    suffixes = (("api", ""), ("ui", "-ui"), ("proxy", "-proxy"), ("prometheus", "-prometheus"))
    tags = {name: f"captcha-solver{suffix}:ci-test" for name, suffix in suffixes}
    buildkit = {"tag": "captcha-solver:ci-test-buildkit"}
    seconds = {}

    # BuildKit keeps a cache of its own: its build runs beside the classic ones (mostly downloads).
    def buildkit_build():
        started = time.monotonic()
        process = docker.build(buildkit["tag"], REPO, buildkit=True, BASE_IMAGE=base, VERSION=VERSION, target="api")
        output, _ = process.communicate(timeout=BUILD_TIMEOUT_S)
        buildkit.update(returncode=process.returncode, output=output)
        seconds["buildkit api"] = round(time.monotonic() - started, 1)

    thread = threading.Thread(target=buildkit_build, daemon=True)
    thread.start()
    started = time.monotonic()
    # The classic builder builds every stage before the target: "api" (the last) includes the UI's stages.
    _wait(docker.build(tags["api"], REPO, BASE_IMAGE=base, VERSION=VERSION, REVISION=revision, target="api"), "api build")
    _wait(docker.build(tags["ui"], REPO, BASE_IMAGE=base, VERSION=VERSION, REVISION=revision, target="ui"), "ui build")
    _wait(docker.build(tags["proxy"], REPO / "deploy" / "proxy", BASE_IMAGE=proxy_base, VERSION=VERSION), "proxy build")
    # Debian's prometheus on the same Debian base as the proxy.
    _wait(docker.build(tags["prometheus"], REPO / "deploy" / "prometheus", BASE_IMAGE=proxy_base, VERSION=VERSION),
          "prometheus build")
    seconds["classic api+ui+proxy+prometheus"] = round(time.monotonic() - started, 1)
    thread.join(timeout=BUILD_TIMEOUT_S)
    return Images(api=tags["api"], ui=tags["ui"], proxy=tags["proxy"], prometheus=tags["prometheus"], base=base,
                  buildkit=buildkit, build_seconds=seconds)


class Containers:
    """Starts containers on the host network and removes them (and only them) at the end."""

    def __init__(self, docker: Docker):
        self.docker = docker
        self.names: list[str] = []

    def start(self, image: str, *args, options=(), name: str | None = None) -> str:
        name = name or f"captcha-test-{SESSION}-{len(self.names)}"
        self.names.append(name)
        self.docker.run("run", "-d", "--name", name, "--label", f"{LABEL}={SESSION}", "--network", "host",
                        "--read-only", "--tmpfs", "/tmp", *options, image, *args)
        return name

    def logs(self, name: str) -> str:
        result = self.docker.run("logs", name, check=False)
        return (result.stdout + result.stderr)[-4000:]

    def cleanup(self):
        for name in self.names:
            self.docker.run("rm", "-f", "-v", name, check=False)


@pytest.fixture(scope="module")
def containers(docker):
    started = Containers(docker)
    yield started
    started.cleanup()


def wait_http(url: str, *, containers: Containers | None = None, name: str | None = None, timeout: float = 90) -> float:
    """Seconds until ``url`` answers 200; fails with the container's logs if it exits or never does."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        if containers is not None and name is not None:
            state = containers.docker.inspect(name)["State"]
            if not state["Running"]:
                raise AssertionError(f"{name} exited ({state['ExitCode']}):\n{containers.logs(name)}")
        time.sleep(0.2)
    logs = containers.logs(name) if containers is not None and name else ""
    raise AssertionError(f"{url} did not answer within {timeout} s\n{logs}")


# The user containers run as (--user): neither root nor the image's own 10001, when the tests may chown.
TEST_UID, TEST_GID = (12345, 12345) if os.getuid() == 0 else (os.getuid(), os.getgid())


def shared_folder(root: Path) -> Path:
    """A folder the containers' user owns, as an operator prepares ./data or ./model."""
    root.mkdir(parents=True, exist_ok=True)
    for path in [root, *root.rglob("*")]:
        if os.getuid() == 0:
            os.chown(path, TEST_UID, TEST_GID)
    return root
