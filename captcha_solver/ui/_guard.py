"""What the settings page may change, and how often a wrong admin token may be tried.

Everything here is pure or holds its own small state, so it is tested without
Gradio: :func:`edit_problem` compares the settings in force with the edited
ones, :class:`AttemptLimiter` counts wrong tokens against an injectable clock,
and :func:`is_loopback` tells a local listening address from an exposed one.
"""

from __future__ import annotations

import collections
import ipaddress
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

from captcha_solver.common import RESULTS_COLUMNS
from captcha_solver.settings import Config

__all__ = ["LOCKED_KEYS", "UI_PATHS", "AttemptLimiter", "edit_problem", "is_loopback"]

#: Keys that decide who may use the API and the UI: set in config.yaml on the server, never from the page.
LOCKED_KEYS = ("serving.api_key_env", "serving.admin_token_env", "serving.host")

#: Path keys the page may change: the project folders (under the working directory) a new value must
#: stay in, and the file suffix it must have (None: a folder).
UI_PATHS = {
    "paths.model_dir": (("model", "data"), None),
    "paths.results_csv": (("data",), ".csv"),
    "paths.log_file": (("data",), ".log"),
}


def is_loopback(host: str) -> bool:
    """True if ``host`` only accepts connections from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to any interface


def _outside(path: Path, folders: tuple[str, ...]) -> bool:
    # resolve() follows '..' and symlinks: data/link -> /etc is outside data/.
    roots = [Path(folder).resolve() for folder in folders]
    return not any(path == root or path.is_relative_to(root) for root in roots)


def _starts_with_results_header(path: Path) -> bool:
    # Only this yes/no leaves the function: the file's text is never shown.
    header = ",".join(RESULTS_COLUMNS)
    with open(path, "rb") as file:
        lines = file.read(len(header) + 2).decode("utf-8", "replace").splitlines()
    return bool(lines) and lines[0] == header


def _path_problem(key: str, value: str, *, config_path: Path) -> str | None:
    folders, suffix = UI_PATHS[key]
    where = " or ".join(f"{Path(folder).resolve()}/" for folder in folders)
    try:
        # Relative values are read against the working directory, as the solver reads them.
        path = Path(value).resolve()
    except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a symlink loop
        return f"{key} = {value!r} is not a usable path: {exc}"
    if _outside(path, folders):
        return (
            f"{key} = {value!r} is outside the project's {' or '.join(folders)} folder ({where}); "
            "the settings page may only choose paths inside it (set other places in config.yaml on the server)"
        )
    if path == config_path.resolve():
        return f"{key} = {value!r} is the settings file itself"
    if suffix is None:
        return None
    if path.suffix != suffix or value.endswith(("/", os.sep)):
        return f"{key} = {value!r} is invalid: expected a file name ending in '{suffix}'"
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{key} = {value!r} cannot be checked: {exc.strerror}"
    if not stat.S_ISREG(mode):
        return f"{key} = {value!r} exists and is not a regular file"
    try:
        foreign = key == "paths.results_csv" and not _starts_with_results_header(path)
    except OSError as exc:
        return f"{key} = {value!r} cannot be read: {exc.strerror}"
    if foreign:
        return (
            f"{key} = {value!r} is an existing file that is not a results CSV (it does not start with "
            "the results header); choose a new file name or an existing results CSV"
        )
    return None


def edit_problem(current: Config, edited: Config, *, config_path: str | os.PathLike) -> str | None:
    """Why the settings page may not make this edit, or None if it may.

    Only what the edit changes is checked: values set on the server stay as they are.

    Parameters
    ----------
    current : Config
        The settings in force.
    edited : Config
        The validated settings from the page.
    config_path : path
        The settings file being edited (no path key may point at it).

    Returns
    -------
    problem : str or None
        Names the dotted key and what is allowed. Checking reads no file, except
        the first line of an existing file a new ``paths.results_csv`` names,
        compared with the results header and never shown.
    """
    for key in LOCKED_KEYS:
        if edited.get(key) != current.get(key):
            return (
                f"{key} cannot be changed from the settings page (it decides who may use the API and "
                f"the UI); it stays {current.get(key)!r}. Change it in config.yaml on the server"
            )
    for key in UI_PATHS:
        value = edited.get(key)
        if value != current.get(key):
            problem = _path_problem(key, value, config_path=Path(config_path))
            if problem:
                return problem
    results, log = (Path(edited.get(k)).resolve() for k in ("paths.results_csv", "paths.log_file"))
    if results == log:
        return f"paths.results_csv and paths.log_file are the same file ({results})"
    return None


class AttemptLimiter:
    """Refuses attempts for a while after too many failures in a short time.

    Parameters
    ----------
    max_failures : int
        Failures within ``window_s`` that trigger the lock-out.
    window_s : float
        Sliding window, in seconds.
    lockout_s : float
        How long every attempt is refused once locked, in seconds.
    clock : callable, optional
        Seconds as a float (default :func:`time.monotonic`); tests pass a fake one.
    """

    def __init__(
        self,
        max_failures: int = 5,
        window_s: float = 60.0,
        lockout_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        if max_failures < 1:
            raise ValueError(f"max_failures must be >= 1, got {max_failures}")
        self.max_failures, self.window_s, self.lockout_s = max_failures, window_s, lockout_s
        self.clock = clock
        self._failures: collections.deque[float] = collections.deque()
        self._locked_until = float("-inf")
        self._lock = threading.Lock()  # Gradio runs handlers in threads

    def retry_after(self) -> float:
        """Seconds until attempts are accepted again; 0 when they are accepted now."""
        with self._lock:
            return max(0.0, self._locked_until - self.clock())

    def failed(self) -> bool:
        """Record a failure; True if it started a lock-out."""
        with self._lock:
            now = self.clock()
            self._failures.append(now)
            while self._failures and self._failures[0] <= now - self.window_s:
                self._failures.popleft()
            if len(self._failures) < self.max_failures:
                return False
            self._failures.clear()
            self._locked_until = now + self.lockout_s
            return True

    def succeeded(self) -> None:
        """Forget earlier failures."""
        with self._lock:
            self._failures.clear()
