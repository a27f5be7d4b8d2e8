"""Fixtures of the Ray tests: a real cluster (a head and two one-CPU worker nodes on loopback) and data."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.ray_batch.cluster import BAD_FILES, LocalCluster, add_bad_files


@pytest.fixture(scope="module")
def cluster():
    """A head (no CPU) and two worker nodes (one CPU each), started now; ``wait_for_cpus(2)`` before use.

    The nodes start while the data fixtures generate captchas. Ray puts Unix
    sockets under its temp dir, so the dir is a short one under /tmp, not
    pytest's (whose paths can pass the 107-byte socket path limit). Every
    node's process group is killed at the end, whatever happens.
    """
    pytest.importorskip("ray.data", reason="the ray extra is not installed")
    temp = Path(tempfile.mkdtemp(prefix="rb", dir="/tmp"))
    nodes = LocalCluster(temp)
    try:
        nodes.start_head()
        nodes.add_worker("w1")
        nodes.add_worker("w2")
        yield nodes
    finally:
        nodes.stop()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def mixed_dir(cluster, tmp_path_factory):
    """40 captchas, one more under a name that is not UTF-8, and the bad entries of ``cluster.BAD_FILES``."""
    from captcha_solver.generator import generate_dataset

    folder = tmp_path_factory.mktemp("mixed")
    generate_dataset(folder, 40, seed=321, workers=1)
    odd = Path(os.fsdecode(bytes(folder) + b"/odd\xff.png"))
    odd.write_bytes(next(folder.glob("*.png")).read_bytes())
    add_bad_files(folder)
    return folder


@pytest.fixture(scope="module")
def kill_dir(mixed_dir, tmp_path_factory):
    """600 files for the job whose worker node is killed: hard links to ``mixed_dir``'s captchas under new names.

    Each file must get exactly one row; what it shows need not be new, and
    linking spares generating 600 more captchas.
    """
    folder = tmp_path_factory.mktemp("kill")
    sources = sorted(p for p in mixed_dir.glob("*.png") if p.stat().st_size > 0 and p.name[0].isalnum())
    sources = [p for p in sources if p.name not in BAD_FILES]
    for i in range(600):
        os.link(sources[i % len(sources)], folder / f"c{i:04d}.png")
    return folder
