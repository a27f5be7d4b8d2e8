"""The Dockerfile: multi-stage, slim, non-root, healthchecked, inference dependencies only.

The slow test runs the Dockerfile's own pip steps (read from the file) in a
fresh virtualenv from the built wheel, then serves a model from that venv.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")


def _stages() -> dict[str, str]:
    parts = re.split(r"^FROM\s+", DOCKERFILE, flags=re.MULTILINE)[1:]
    return {re.search(r"\bAS\s+(\S+)", p.splitlines()[0]).group(1): p for p in parts}


def _run_lines(stage: str) -> list[str]:
    text = re.sub(r"\\\n\s*", " ", _stages()[stage])
    return [line.strip()[4:] for line in text.splitlines() if line.strip().startswith("RUN ")]


def test_multi_stage_slim_non_root_with_healthcheck():
    stages = _stages()
    assert {"build", "runtime", "api", "ui"} <= set(stages)
    assert list(stages)[-1] == "api"  # the default target
    bases = re.findall(r"^FROM\s+(\S+)", DOCKERFILE, flags=re.MULTILINE)
    # Every stage starts from the slim Python image or from an earlier stage.
    assert all(base.endswith("-slim") or base in stages for base in bases), bases
    for target in ("api", "ui"):
        assert re.search(r"^USER solver$", stages[target], flags=re.MULTILINE), target
        assert "HEALTHCHECK" in stages[target], target
    assert "/health" in stages["api"]


def test_inference_dependencies_only():
    assert re.search(r'pip wheel --wheel-dir /wheels "\.\[serve\]"', DOCKERFILE)
    instructions = "\n".join(line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#"))
    for heavy in ("torch", "scikit-learn", "sklearn", "train", "catboost", "wandb"):
        assert heavy not in instructions
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = project["dependencies"] + project["optional-dependencies"]["serve"]
    assert not [d for d in runtime if re.match(r"(torch|scikit-learn|tensorflow|jax)\b", d)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_dockerfile_pip_steps_in_a_fresh_venv(tmp_path, trained_model_dir, captcha_dir):
    """`pip wheel` (build stage) then the offline `pip install` (api stage), exactly as written, then serve."""
    wheels = tmp_path / "wheels"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    steps = [line for line in _run_lines("build") if "pip wheel" in line]
    steps += [line for line in _run_lines("api") if "pip install" in line]
    assert len(steps) == 2, steps
    for step in steps:
        # The api stage's RUN has a --mount option before the command; /wheels and the context map to here.
        command = step[step.index("pip "):].replace("/wheels", str(wheels))
        args = [str(python), "-m", *shlex.split(command)]
        result = subprocess.run(args, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
        assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert any(p.name.startswith("captcha_solver-") for p in wheels.glob("*.whl"))

    # Inference only: no training or deep-learning stack came in.
    probe = "import importlib.util as u; print([m for m in ('torch', 'sklearn', 'catboost', 'wandb', 'gradio') if u.find_spec(m)])"
    assert subprocess.run([str(python), "-c", probe], check=False, capture_output=True, text=True, cwd=tmp_path).stdout.strip() == "[]"

    # The installed console script serves a model, outside the source tree.
    port = _free_port()
    (tmp_path / "data").mkdir()
    server = subprocess.Popen(
        [str(venv / "bin" / "captcha-solver"), "serve", "--host", "127.0.0.1", "--port", str(port),
         "--model-dir", str(trained_model_dir)],
        cwd=tmp_path, env={**env, "CAPTCHA_API_KEY": ""}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read().decode()[-3000:]
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        image = min(captcha_dir.glob("*.png"))
        response = httpx.post(url + "/predict", files={"file": (image.name, image.read_bytes(), "image/png")})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "ok"
        assert (tmp_path / "data" / "results.csv").is_file()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)
