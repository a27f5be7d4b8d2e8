"""A real Ray cluster on loopback for the tests: a head and worker nodes, each ``ray start --block`` in its own
process group, so that a node can be killed alone and everything the test started is stopped at the end."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))
#: Bad entries :func:`add_bad_files` mixes into a captcha folder: name -> a word its error row must hold.
BAD_FILES = {
    "empty.png": "empty",
    "notanimage.png": "not a",
    "truncated.png": "truncated.png",
    "notes.txt": "extension",
    "nested": "folder",
}


def add_bad_files(folder: Path) -> None:
    """Mix :data:`BAD_FILES` into a folder of captchas: an empty, a text, a truncated PNG, a .txt, a folder."""
    good = next(folder.glob("*.png")).read_bytes()
    (folder / "empty.png").write_bytes(b"")
    (folder / "notanimage.png").write_text("hello, not a PNG\n")
    (folder / "truncated.png").write_bytes(good[: len(good) // 2])
    (folder / "notes.txt").write_text("not a captcha")
    (folder / "nested").mkdir()


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _node_ports() -> list[str]:
    # Several nodes share one machine: every port a node would take by default (and so clash on) is given.
    options = [
        "--node-manager-port",
        "--object-manager-port",
        "--metrics-export-port",
        "--dashboard-agent-listen-port",
        "--dashboard-agent-grpc-port",
        "--runtime-env-agent-port",
    ]
    return [f"{option}={free_port()}" for option in options]


class LocalCluster:
    """A head node (no CPU of its own: the reading happens on the workers) and worker nodes on 127.0.0.1.

    Parameters
    ----------
    temp_dir : Path
        Root of the nodes' Ray temp dirs; short, since Ray puts Unix sockets under it.
    object_store_bytes : int
        Object store of each node.
    """

    def __init__(self, temp_dir: Path, object_store_bytes: int = 100 * 1024 * 1024):
        self.temp_dir = Path(temp_dir)
        self.object_store = object_store_bytes
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: dict[str, subprocess.Popen] = {}
        self.env = dict(
            os.environ,
            RAY_USAGE_STATS_ENABLED="0",
            RAY_AUTH_MODE="disabled",  # no token written under the user's home for a throwaway cluster
            OMP_NUM_THREADS="1",
            # A killed node is declared dead after ~3 s instead of Ray's default ~30 s.
            RAY_health_check_period_ms="1000",
            RAY_health_check_timeout_ms="1000",
            RAY_health_check_failure_threshold="3",
        )
        self._ready = 0
        self.env.pop("RAY_ADDRESS", None)

    def _start(self, name: str, args: list[str]) -> None:
        log = open(self.temp_dir / f"{name}.log", "wb")
        common = [
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--object-store-memory={self.object_store}",
            "--disable-usage-stats",
            "--include-log-monitor=false",
            f"--temp-dir={self.temp_dir / name}",
            *_node_ports(),
        ]
        self.nodes[name] = subprocess.Popen(
            [RAY, "start", *args, *common],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,  # its own process group: killpg reaches its raylet and workers, nothing else
        )
        log.close()

    def start_head(self) -> None:
        self._start(
            "head",
            [
                "--head",
                f"--port={self.port}",
                "--num-cpus=0",
                "--include-dashboard=false",
                f"--dashboard-port={free_port()}",
            ],
        )

    def add_worker(self, name: str, cpus: int = 1) -> None:
        self._start(name, [f"--address={self.address}", f"--num-cpus={cpus}"])

    def wait_for_cpus(self, cpus: int, timeout: float = 90) -> None:
        """Wait until the cluster reports ``cpus`` CPUs alive (or fail with the nodes' logs)."""
        if self._ready >= cpus:
            return
        probe = (
            "import ray, sys, time\n"
            f"ray.init(address={self.address!r}, logging_level='ERROR', log_to_driver=False)\n"
            f"deadline = time.time() + {timeout}\n"
            f"while ray.cluster_resources().get('CPU', 0) < {cpus} and time.time() < deadline:\n"
            "    time.sleep(0.5)\n"
            f"sys.exit(0 if ray.cluster_resources().get('CPU', 0) >= {cpus} else 1)\n"
        )
        deadline = time.time() + timeout
        while True:
            dead = [n for n, p in self.nodes.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"ray node(s) {dead} exited:\n{self.logs()}")
            result = subprocess.run(
                [sys.executable, "-c", probe],
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout + 30,
            )
            if result.returncode == 0:
                self._ready = cpus
                return
            if time.time() > deadline:
                raise RuntimeError(
                    f"the cluster never had {cpus} CPUs:\n{result.stderr[-2000:]}\n{self.logs()}"
                )
            time.sleep(1)

    def kill(self, name: str) -> None:
        """SIGKILL a node's whole process group: its raylet, object store and workers die at once."""
        process = self.nodes[name]
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the whole group is gone, not only `ray start`
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}"
            for p in sorted(self.temp_dir.glob("*.log"))
        )

    def stop(self) -> None:
        """Kill every node this cluster started (their process groups only), workers first."""
        for name in sorted(self.nodes, key=lambda n: n == "head"):
            self.kill(name)
