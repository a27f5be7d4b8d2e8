"""Pool workers die with their parent: ``kill -9`` of a run leaves no orphan behind.

Each test starts a process that runs one of the project's pools, waits for
its workers, SIGKILLs it and checks that the workers are gone. The control
(a pool without the lifeline) shows the check sees orphans when they exist.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads process tables from /proc"
)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process, None if it is gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after it.
    state, ppid = text[text.rindex(")") + 2 :].split()[:2]
    return None if state in "ZX" else (state, int(ppid))


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] == pid:
                found.add(int(entry.name))
    return found


def _kill_and_watch(
    args: list[str], *, workers: int = 2, timeout_s: float = 60.0, grace_s: float = 5.0
) -> tuple[set[int], set[int]]:
    """Run ``args``, SIGKILL it once it has ``workers`` children; (children, those alive ``grace_s`` later)."""
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout_s
        children: set[int] = set()
        while len(children) < workers:
            if proc.poll() is not None:
                pytest.fail(
                    f"{args} ended (rc {proc.returncode}) before its pool started: {proc.stderr.read().decode()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"{args}: no {workers} worker processes after {timeout_s} s")
            time.sleep(0.05)
            children = _children(proc.pid)
        time.sleep(0.3)  # let the workers get into their tasks
        children = _children(proc.pid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    deadline = time.monotonic() + grace_s
    alive = {pid for pid in children if _stat(pid) is not None}
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = {pid for pid in alive if _stat(pid) is not None}
    return children, alive


def _end(pids: set[int]) -> None:
    for pid in pids:  # orphans this test made: end them by pid
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


_POOL = textwrap.dedent(
    """
    import functools, sys, time
    from concurrent.futures import ProcessPoolExecutor
    from captcha_solver.common import exit_with_parent

    mode = sys.argv[1]
    init = {"none": None, "prctl": exit_with_parent,
             "watchdog": functools.partial(exit_with_parent, use_prctl=False, interval_s=0.2)}[mode]
    with ProcessPoolExecutor(2, initializer=init) as pool:
        list(pool.map(time.sleep, [30] * 4))
    """
)


@pytest.mark.parametrize("mode", ["prctl", "watchdog"])
def test_pool_workers_exit_when_the_parent_is_killed(mode):
    if mode == "prctl" and not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux only")
    children, alive = _kill_and_watch([sys.executable, "-c", _POOL, mode])
    _end(alive)
    assert len(children) >= 2 and not alive, f"workers {sorted(alive)} outlived their parent"


def test_without_the_lifeline_workers_are_orphaned():
    # The control: the check above does see orphans (the bug this module fixes).
    children, alive = _kill_and_watch([sys.executable, "-c", _POOL, "none"], grace_s=2.0)
    _end(alive)
    assert alive == children and len(alive) >= 2


def test_exit_with_parent_does_nothing_outside_a_worker():
    from captcha_solver.common import exit_with_parent

    assert exit_with_parent() == "none"  # the test process itself must not die with pytest's parent


def test_killed_predict_leaves_no_worker(trained_model_dir, captcha_dir, tmp_path):
    # Hard links: enough files that the run is still going when it is killed.
    folder = tmp_path / "many"
    folder.mkdir()
    sources = sorted(captcha_dir.glob("*.png"))
    for i in range(2000):
        os.link(sources[i % len(sources)], folder / f"c{i:05d}.png")
    args = [
        sys.executable,
        "model.py",
        "--set",
        "logging.console=false",
        "--set",
        f"paths.log_file={tmp_path / 'log'}",
        "predict",
        "--dataset",
        str(folder),
        "--model-dir",
        str(trained_model_dir),
        "--results",
        str(tmp_path / "r.csv"),
        "--workers",
        "2",
    ]
    children, alive = _kill_and_watch(args)
    _end(alive)
    assert len(children) >= 2 and not alive, f"predict workers {sorted(alive)} outlived their parent"


_TRAIN_POOL = textwrap.dedent(
    """
    import sys
    from features import FeatureParams
    from segmentation import SegmentationParams
    from captcha_solver.training.classical import collect_samples

    paths = sys.argv[1:] * 50
    index = {c: i for i, c in enumerate("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")}
    collect_samples(paths, index, SegmentationParams(), FeatureParams(), max_garbage=2, seed=0, workers=2,
                    limits=None)
    """
)

_GENERATE_POOL = (
    "import sys; from captcha_solver.generator import generate_dataset; "
    "generate_dataset(sys.argv[1], 5000, 1, workers=2)"
)


@pytest.mark.parametrize("pool", ["train", "generate"])
def test_killed_train_and_generate_leave_no_worker(pool, captcha_dir, tmp_path):
    if pool == "train":
        args = [sys.executable, "-c", _TRAIN_POOL, *map(str, sorted(captcha_dir.glob("*.png"))[:40])]
    else:
        args = [sys.executable, "-c", _GENERATE_POOL, str(tmp_path / "out")]
    children, alive = _kill_and_watch(args)
    _end(alive)
    shutil.rmtree(tmp_path / "out", ignore_errors=True)
    assert len(children) >= 2 and not alive, f"{pool} workers {sorted(alive)} outlived their parent"
