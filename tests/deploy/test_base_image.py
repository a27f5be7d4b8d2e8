"""deploy/base-image.sh: the Debian mirror comes from the machine's apt configuration only.

The script's ``--print-sources`` mode prints the apt sources the image would get (the first
line's mirror is the one debootstrap uses) and stops before debootstrap, CA bundle or docker.
``APT_ROOT`` points it at fake apt folders made here; the mirror hosts are in the reserved
``.test`` domain.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "base-image.sh"

DEB822 = """\
Types: deb
# an old mirror, kept for reference
# URIs: http://old.test/debian
URIs: http://mirror.test/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.test/debian-security
Suites: bookworm-security
Components: main
"""
# Sorted before debian.sources: a third-party source that must not be taken for Debian's archive.
THIRD_PARTY_DEB822 = """\
Types: deb
URIs: https://vendor.test/node_20.x
Suites: nodistro
Components: main

Types: deb
URIs: http://disabled.test/debian
Suites: bookworm
Components: main
Enabled: no
"""
ONE_LINE = """\
# deb http://commented.test/debian bookworm main
deb-src http://source-only.test/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://one-line.test/debian/ bookworm main
deb http://one-line.test/debian-security bookworm-security main
"""
THIRD_PARTY_LIST = "deb https://vendor.test/apt cloud-sdk-bookworm main\n"


def _apt_root(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "root"
    (root / "etc" / "apt" / "sources.list.d").mkdir(parents=True)
    for name, text in files.items():
        (root / "etc" / "apt" / name).write_text(text, encoding="utf-8")
    return root


def _print_sources(root: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("DEBIAN_MIRROR", "DEBIAN_SUITE")}
    return subprocess.run(
        ["bash", str(SCRIPT), "--print-sources"],
        env={**environ, "APT_ROOT": str(root), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_deb822_sources(tmp_path):
    root = _apt_root(
        tmp_path,
        {"sources.list.d/a-vendor.sources": THIRD_PARTY_DEB822, "sources.list.d/debian.sources": DEB822},
    )
    result = _print_sources(root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "deb http://mirror.test/debian bookworm main",
        "deb http://mirror.test/debian bookworm-updates main",
        "deb http://mirror.test/debian-security bookworm-security main",
    ]


def test_one_line_sources(tmp_path):
    root = _apt_root(tmp_path, {"sources.list.d/a-vendor.list": THIRD_PARTY_LIST, "sources.list": ONE_LINE})
    result = _print_sources(root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "deb http://one-line.test/debian/ bookworm main",
        "deb http://one-line.test/debian/ bookworm-updates main",
        "deb http://one-line.test/debian-security bookworm-security main",
    ]


def test_another_release_on_the_host(tmp_path):
    """A trixie host building bookworm: its archive (a URI ending in /debian) is the mirror."""
    root = _apt_root(tmp_path, {"sources.list.d/debian.sources": DEB822.replace("bookworm", "trixie")})
    result = _print_sources(root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "deb http://mirror.test/debian bookworm main"


def test_debian_mirror_wins(tmp_path):
    root = _apt_root(tmp_path, {"sources.list": ONE_LINE})
    result = _print_sources(root, DEBIAN_MIRROR="http://chosen.test/debian")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [
        "deb http://chosen.test/debian bookworm main",
        "deb http://chosen.test/debian bookworm-updates main",
    ]


@pytest.mark.parametrize(
    "files",
    [
        {},
        {"sources.list": "# nothing here\ndeb-src http://source-only.test/debian bookworm main\n"},
        {
            "sources.list.d/a-vendor.sources": THIRD_PARTY_DEB822,
            "sources.list.d/a-vendor.list": THIRD_PARTY_LIST,
        },
    ],
    ids=["no-files", "no-deb-source", "third-party-only"],
)
def test_no_mirror_is_an_error_naming_the_files(tmp_path, files):
    root = _apt_root(tmp_path, files)
    result = _print_sources(root)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "no Debian mirror found" in result.stderr
    for looked_in in (
        "etc/apt/sources.list,",
        "etc/apt/sources.list.d/*.list",
        "etc/apt/sources.list.d/*.sources",
    ):
        assert f"{root}/{looked_in}" in result.stderr
    for name in files:
        assert str(root / "etc" / "apt" / name) in result.stderr
    assert "DEBIAN_MIRROR" in result.stderr


def test_no_mirror_host_in_the_script():
    text = SCRIPT.read_text(encoding="utf-8")
    assert re.findall(r"[a-z]+://[a-z0-9-]+(?:\.[a-z0-9-]+)+", text) == []
