"""The batch tab's input: zip members that try to escape, are not images or are too big get error rows;
the other files are read all the same, and nothing is written outside the UI's folder (issue 19, item 6)."""

from __future__ import annotations

import csv
import io
import stat
import zipfile
from pathlib import Path

import pytest

from captcha_solver.ui._batch import TABLE_COLUMNS, BatchLimits, gather_batch, read_batch, table_csv

LIMITS = BatchLimits(
    max_files=10, max_file_bytes=400_000, max_total_bytes=2_000_000, extensions=(".png", ".jpg")
)


@pytest.fixture()
def png(captcha_dir) -> Path:
    return min(captcha_dir.glob("*.png"))


def _zip(path: Path, members: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def _by_name(entries):
    return {entry.name: entry for entry in entries}


def test_zip_with_hostile_members(tmp_path, png):
    image = png.read_bytes()
    upload = _zip(
        tmp_path / "mixed.zip",
        {
            "good/first.png": image,
            "../../escape.png": image,
            "/etc/absolute.png": image,
            "C:\\windows\\drive.png": image,
            "dir\\..\\..\\back.png": image,
            "notes.txt": b"hello",
            "fake.png": b"this is no picture",
            "huge.png": b"\x89PNG" + b"\0" * 500_000,
            "second.PNG": image,
        },
        symlinks={"link.png": "/etc/passwd"},
    )
    workdir = tmp_path / "work"
    workdir.mkdir()
    entries = _by_name(gather_batch([upload], LIMITS, workdir))
    assert entries["mixed.zip/good/first.png"].path is not None
    assert entries["mixed.zip/second.PNG"].path is not None
    assert "'..'" in entries["mixed.zip/../../escape.png"].error
    assert "absolute" in entries["mixed.zip//etc/absolute.png"].error
    assert "absolute" in entries["mixed.zip/C:\\windows\\drive.png"].error
    assert "'..'" in entries["mixed.zip/dir\\..\\..\\back.png"].error
    assert "symbolic link" in entries["mixed.zip/link.png"].error
    assert (
        "not an image file" in entries["mixed.zip/notes.txt"].error
        and "'.txt'" in entries["mixed.zip/notes.txt"].error
    )
    assert "ui.batch_max_file_bytes = 400000" in entries["mixed.zip/huge.png"].error
    # Not refused by name: it goes to the reader, which says what is wrong with it.
    assert entries["mixed.zip/fake.png"].path is not None and not entries["mixed.zip/fake.png"].error
    # Every copy is a numbered file inside the work folder; nothing else was written anywhere.
    copies = sorted(p.name for p in workdir.rglob("*"))
    assert copies == ["000001.png", "000002.png", "000003.png"]
    assert not (tmp_path.parent / "escape.png").exists() and not (tmp_path / "escape.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mixed.zip", "work"]
    assert entries["mixed.zip/good/first.png"].path.read_bytes() == image


def test_member_whose_header_lies_about_its_size(tmp_path, png):
    """A member is copied at most up to the limit, whatever size its header announces."""
    upload = _zip(tmp_path / "liar.zip", {"big.png": b"\x89PNG" + b"A" * 600_000})
    data = bytearray(upload.read_bytes())
    # Patch the central directory's uncompressed size (offset 24 in a central header) to 10 bytes.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    upload.write_bytes(bytes(data))
    workdir = tmp_path / "work"
    workdir.mkdir()
    (entry,) = gather_batch([upload], LIMITS, workdir)
    assert entry.path is None and entry.error
    assert all(p.stat().st_size <= LIMITS.max_file_bytes for p in workdir.iterdir())


def test_too_many_files_and_too_many_bytes(tmp_path, png):
    image = png.read_bytes()
    upload = _zip(tmp_path / "many.zip", {f"c{i}.png": image for i in range(14)})
    workdir = tmp_path / "work"
    workdir.mkdir()
    entries = gather_batch([upload, png], LIMITS, workdir)
    read = [e for e in entries if e.path is not None]
    assert len(read) == 10
    skipped = [e.error for e in entries if "ui.batch_max_files = 10" in e.error]
    # One row per upload says how many of its files were left out: 4 members, and the loose file.
    assert sorted(skipped) == sorted(
        ["4 file(s) not read: a batch reads at most ui.batch_max_files = 10",
         "1 file(s) not read: a batch reads at most ui.batch_max_files = 10"]
    )  # fmt: skip
    tight = BatchLimits(10, 400_000, 3 * len(image), (".png",))
    entries = gather_batch([png, png, png, png], tight, workdir)
    assert [e.path is not None for e in entries] == [True, True, True, False]
    assert "ui.batch_max_total_bytes" in entries[3].error


def test_not_a_zip_and_unreadable_upload(tmp_path):
    fake = tmp_path / "archive.zip"
    fake.write_bytes(b"not a zip at all")
    entries = gather_batch([fake, tmp_path / "gone.png"], LIMITS, tmp_path)
    assert "not a readable zip archive" in entries[0].error
    assert entries[1].name == "gone.png" and "cannot be read" in entries[1].error


def test_read_batch_goes_on_after_bad_files(tmp_path):
    calls = []

    def read_row(path, name):
        calls.append(name)
        if name == "bad.png":
            return {"status": "error", "error": "bad.png: not a PNG", "prediction": "", "reader": ""}
        return {
            "status": "ok",
            "prediction": "x7k",
            "confidence": 0.98765,
            "reader": "classical",
            "error": "",
        }

    workdir = tmp_path
    (workdir / "bad.png").write_bytes(b"x")
    (workdir / "good.png").write_bytes(b"x")
    entries = gather_batch(
        [workdir / "bad.png", workdir / "missing.png", workdir / "good.png"], LIMITS, workdir
    )
    table, readings = read_batch(entries, read_row)
    assert calls == ["bad.png", "good.png"] and len(readings) == 2
    assert [(r["file"], r["status"]) for r in table] == [
        ("bad.png", "error"),
        ("missing.png", "error"),
        ("good.png", "ok"),
    ]
    assert table[2]["text"] == "x7k" and table[2]["confidence"] == "0.988"
    assert table[0]["error"] == "bad.png: not a PNG"


def test_table_csv_is_one_line_per_row_and_formula_safe():
    rows = [
        dict(
            file="=cmd|' /C calc'!A0.png",
            text="ab\nc",
            confidence="0.5",
            reader="neural",
            status="ok",
            error="",
        )
    ]
    text = table_csv(rows).decode("utf-8")
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == list(TABLE_COLUMNS) and len(text.splitlines()) == 2
    assert parsed[1][0].startswith("'=") and parsed[1][1] == "ab\\nc"
