"""Reaching Ray: the clear error without the extra, and a session on a cluster or a local instance."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator

__all__ = ["RayNotInstalledError", "check_reachable", "import_ray", "ray_session"]


class RayNotInstalledError(RuntimeError):
    """``--engine ray`` was asked for but Ray (with Ray Data) is not installed."""


def import_ray():
    """The ``ray`` module with Ray Data loaded.

    Raises
    ------
    RayNotInstalledError
        If Ray or Ray Data cannot be imported; the message says what to install.
    """
    try:
        import ray
        import ray.data  # noqa: F401  (Ray without its [data] part has no Ray Data)
    except ImportError as exc:
        raise RayNotInstalledError(
            f"the ray engine needs Ray with Ray Data ({exc}): pip install 'captcha-solver[ray]'"
        ) from None
    return ray


@contextlib.contextmanager
def ray_session(address: str | None = None, workers: int = 0) -> Iterator[int]:
    """Connect to the cluster at ``address``, or start a local instance; yield the cluster's CPU count.

    Parameters
    ----------
    address : str, optional
        ``host:port`` of a running cluster's head (or ``auto``). None starts a
        local instance (never the one ``$RAY_ADDRESS`` names: that needs
        ``--address``), with ``workers`` CPUs (0: all cores) and no dashboard,
        stopped again on exit.
    workers : int
        CPUs of the local instance; ignored with ``address`` (the cluster's own count is used).

    Raises
    ------
    RuntimeError
        If the cluster cannot be reached, or has no CPU to read on.
    """
    ray = import_ray()
    if ray.is_initialized():
        raise RuntimeError(
            "Ray is already initialised in this process; the ray engine starts its own session"
        )
    options = dict(logging_level=logging.WARNING, log_to_driver=False)
    if address:
        check_reachable(address)
    try:
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(
                address="local", num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, **options
            )
    except (ConnectionError, TimeoutError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise RuntimeError(f"cannot start or reach {where}: {exc}") from exc
    try:
        cpus = int(ray.cluster_resources().get("CPU", 0))
        if cpus < 1:
            raise RuntimeError(f"the Ray cluster at {address or 'local'} has no CPU to read on")
        yield cpus
    finally:
        ray.shutdown()  # a local instance stops; a cluster only loses this driver


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast when nothing listens at a ``host:port`` head address (``ray.init`` would retry for ever).

    ``auto`` and ``ray://`` addresses are left to Ray.

    Raises
    ------
    RuntimeError
        If the address is not ``host:port``, or no connection can be made to it; the message names it.
    """
    if address == "auto" or "://" in address:
        return
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise RuntimeError(f"--address {address!r}: expected HOST:PORT of the Ray head, e.g. 10.0.0.5:6379")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise RuntimeError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc} "
            "(is its head started, with `ray start --head --port PORT`?)"
        ) from None
