"""Worker processes that end when the process that started them dies.

A ``ProcessPoolExecutor`` worker waits for its next task on a pipe that it
holds both ends of (it was forked), so when its parent is killed with
``kill -9`` nothing ever wakes it: it sleeps forever, holding memory and the
model. Every pool initializer of the project calls :func:`exit_with_parent`
first. On Linux the kernel does the work (``prctl(PR_SET_PDEATHSIG)``);
elsewhere a daemon thread polls the parent's pid.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time

__all__ = ["exit_with_parent"]

# From <linux/prctl.h>.
_PR_SET_PDEATHSIG = 1


def _set_pdeathsig(sig: int) -> bool:
    """Ask the Linux kernel to send ``sig`` to this process when its parent dies; False if it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):  # no libc symbol table (static builds, musl oddities)
        return False


def _watch_parent(parent: int, interval_s: float) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)  # the parent is gone: nobody will read what this worker makes
        time.sleep(interval_s)


def exit_with_parent(*, use_prctl: bool = True, interval_s: float = 1.0) -> str:
    """Make the calling (worker) process exit as soon as its parent process dies.

    Call it first in a pool initializer. The worker is killed with SIGKILL
    (Linux) or exits from a watchdog thread that checks ``os.getppid()``
    every ``interval_s`` seconds (other systems, or ``use_prctl=False``).
    In a process that multiprocessing did not start (a pool's initializer
    run inline by a one-worker path, say) it does nothing: a command line
    program must not die with its shell (``nohup``).

    On Linux the signal follows the *thread* that started the worker, so
    the pool must be created and used by one thread that outlives it (as
    every pool of this project is: created, drained and shut down in one
    function call).

    Parameters
    ----------
    use_prctl : bool
        Try ``prctl(PR_SET_PDEATHSIG)`` first (Linux only).
    interval_s : float
        Polling period of the watchdog thread, in seconds.

    Returns
    -------
    how : str
        ``"prctl"``, ``"watchdog"``, or ``"none"`` outside a worker process.
    """
    started_by = multiprocessing.parent_process()
    if started_by is None or started_by.pid is None:
        return "none"
    # The pid recorded when this process was started, not os.getppid(): if the
    # parent died before this line, getppid() already names init (or a subreaper).
    parent = started_by.pid
    how = "prctl" if use_prctl and _set_pdeathsig(signal.SIGKILL) else "watchdog"
    if how == "watchdog":
        threading.Thread(
            target=_watch_parent, args=(parent, interval_s), name="exit-with-parent", daemon=True
        ).start()
    # The parent may have died before the signal was armed: it would never come.
    if os.getppid() != parent:
        os._exit(1)
    return how
