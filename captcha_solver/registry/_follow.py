"""Following an alias: when ``champion`` moves, load the new version in the background, then swap."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from captcha_solver.registry._refs import ModelRef
from captcha_solver.registry._store import Registry, VersionInfo

__all__ = ["AliasFollower"]


class AliasFollower:
    """Polls a registry alias and hands each new version, loaded and checked, to ``swap``.

    The version the alias names is fetched (:meth:`Registry.fetch`: downloaded once, checked
    against its manifest) and loaded by ``load`` in the follower's thread, while the old model
    goes on serving; only then is ``swap`` called with the loaded model: one reference swap
    for the caller. A version that fails to fetch or load is refused: ``on_failure`` is
    called, the error logged, and the old model keeps serving; that version is not retried
    until the alias has named another one.

    Parameters
    ----------
    registry : Registry
    ref : ModelRef
        An alias reference (``models:/NAME@champion``).
    current : int
        The version serving now.
    load : callable (folder: Path, info: VersionInfo) -> model
        Builds the new model; any exception refuses the version.
    swap : callable (model) -> None
        Installs it (one assignment).
    poll_seconds : float
    logger : logging.Logger
    on_failure : callable (version: int, error: Exception) -> None, optional
        E.g. a metric counter.
    """

    def __init__(
        self,
        registry: Registry,
        ref: ModelRef,
        *,
        current: int,
        load: Callable[[Path, VersionInfo], Any],
        swap: Callable[[Any], None],
        poll_seconds: float,
        logger,
        on_failure: Callable[[int, Exception], None] | None = None,
    ):
        if ref.alias is None:
            raise ValueError(f"{ref} names a fixed version; only an alias can be followed")
        self.registry = registry
        self.ref = ref
        self.current = current
        self.load = load
        self.swap = swap
        self.poll_seconds = poll_seconds
        self.logger = logger
        self.on_failure = on_failure
        self.refused: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def check(self) -> bool:
        """Look at the alias once; load and swap if it names a new version. True when a swap happened."""
        with self._lock:  # a poll and an explicit check never load the same version twice
            try:
                version = self.registry.version_of(self.ref)
            except Exception as exc:  # noqa: BLE001 - the registry may be down for a while: keep serving
                self.logger.warning("cannot look up %s (the current model keeps serving): %s", self.ref, exc)
                return False
            if version == self.current or version == self.refused:
                if version == self.current:
                    self.refused = None
                return False
            try:
                folder = self.registry.fetch(version)
                info = self.registry.info(version)
                model = self.load(folder, info)
            except Exception as exc:  # noqa: BLE001 - any broken version is refused the same way
                self.refused = version
                self.logger.error(
                    "%s moved to version %d, which is refused (version %d keeps serving): %s",
                    self.ref,
                    version,
                    self.current,
                    exc,
                )
                if self.on_failure is not None:
                    self.on_failure(version, exc)
                return False
            self.swap(model)
            self.logger.info("%s: now serving version %d (was %d)", self.ref, version, self.current)
            self.current, self.refused = version, None
            return True

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.check()

    def start(self) -> AliasFollower:
        """Poll every ``poll_seconds`` in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"follow {self.ref}", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling (a load under way finishes first, within ``timeout``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
