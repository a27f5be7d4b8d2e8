import os

import pytest

import captcha_solver.common.atomic as atomic
from captcha_solver.common import atomic_write_bytes, atomic_write_text, replace_dir, staging_dir


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_atomic_write_text_and_bytes(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert _leftovers(tmp_path) == []


def test_atomic_write_keeps_existing_mode(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    os.chmod(target, 0o640)
    atomic_write_text(target, "new")
    assert os.stat(target).st_mode & 0o777 == 0o640


def test_atomic_write_failure_keeps_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    target.write_text("old content")

    def broken_replace(src, dst):
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="simulated crash"):
        atomic_write_text(target, "new content")
    assert target.read_text() == "old content"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_write_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder .*nope does not exist"):
        atomic_write_text(tmp_path / "nope" / "out.txt", "x")


def _make_dir(path, content):
    path.mkdir()
    (path / "file.txt").write_text(content)
    return path


def test_replace_dir_new_and_existing(tmp_path):
    final = tmp_path / "model"
    replace_dir(_make_dir(tmp_path / "new1", "one"), final)
    assert (final / "file.txt").read_text() == "one"
    replace_dir(_make_dir(tmp_path / "new2", "two"), final)
    assert (final / "file.txt").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_replace_dir_failure_restores_old(tmp_path, monkeypatch):
    # Without the atomic exchange (not Linux, or a file system without it): two renames.
    monkeypatch.setattr(atomic, "exchange_paths", lambda a, b: False)
    final = _make_dir(tmp_path / "model", "old")
    new = _make_dir(tmp_path / "new", "new")
    real_rename = os.rename
    calls = []

    def flaky_rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # the rename of the new folder into place
            raise OSError("simulated failure while publishing")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", flaky_rename)
    with pytest.raises(OSError, match="simulated failure"):
        replace_dir(new, final)
    assert (final / "file.txt").read_text() == "old"
    assert (new / "file.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "new"]


def test_replace_dir_errors(tmp_path):
    with pytest.raises(NotADirectoryError, match="missing is not a folder"):
        replace_dir(tmp_path / "missing", tmp_path / "model")
    src = _make_dir(tmp_path / "src", "x")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(NotADirectoryError, match="afile exists and is not a folder"):
        replace_dir(src, tmp_path / "afile")


def test_staging_dir_publishes_on_success_and_cleans_on_error(tmp_path):
    final = tmp_path / "sub" / "model"
    with staging_dir(final) as tmp:
        (tmp / "a.txt").write_text("a")
        assert not final.exists()
    assert (final / "a.txt").read_text() == "a"

    with pytest.raises(RuntimeError, match="boom"):
        with staging_dir(final) as tmp:
            (tmp / "a.txt").write_text("b")
            raise RuntimeError("boom")
    assert (final / "a.txt").read_text() == "a"
    assert sorted(p.name for p in final.parent.iterdir()) == ["model"]


def _snapshot_after_each_step(monkeypatch, check):
    """Run ``check()`` after every rename, exchange and rmtree that replace_dir makes."""
    steps = []

    def wrap(module, name):
        real = getattr(module, name)

        def step(*args, **kwargs):
            out = real(*args, **kwargs)
            steps.append(name)
            check()
            return out

        monkeypatch.setattr(module, name, step)

    wrap(os, "rename")
    wrap(atomic.shutil, "rmtree")
    wrap(atomic, "exchange_paths")
    return steps


def test_replace_dir_keeps_the_old_folder_as_backup(tmp_path):
    final, backup = tmp_path / "model", tmp_path / "model.prev"
    replace_dir(_make_dir(tmp_path / "new1", "one"), final, backup_dir=backup)
    assert not backup.exists()  # nothing was replaced
    replace_dir(_make_dir(tmp_path / "new2", "two"), final, backup_dir=backup)
    assert (final / "file.txt").read_text() == "two" and (backup / "file.txt").read_text() == "one"
    replace_dir(_make_dir(tmp_path / "new3", "three"), final, backup_dir=backup)
    assert (final / "file.txt").read_text() == "three" and (backup / "file.txt").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "model.prev"]


def _needs_exchange(tmp_path):
    a, b = tmp_path / "probe-a", tmp_path / "probe-b"
    a.mkdir()
    b.mkdir()
    swapped = atomic.exchange_paths(a, b)
    a.rmdir()
    b.rmdir()
    if not swapped:
        pytest.skip("no renameat2(RENAME_EXCHANGE) on this platform or file system")


def test_replace_dir_final_holds_a_complete_folder_after_every_step(tmp_path, monkeypatch):
    _needs_exchange(tmp_path)
    final, backup = _make_dir(tmp_path / "model", "old"), _make_dir(tmp_path / "model.prev", "older")
    new = _make_dir(tmp_path / ".model.new-x", "new")
    seen = []

    def check():
        seen.append((final / "file.txt").read_text())  # raises if final is missing or empty

    steps = _snapshot_after_each_step(monkeypatch, check)
    replace_dir(new, final, backup_dir=backup)
    assert steps == ["rename", "rmtree", "exchange_paths", "rename"]
    assert seen == ["old", "old", "new", "new"]
    assert (backup / "file.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "model.prev"]


def test_replace_dir_without_exchange_keeps_final_or_backup_complete(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "exchange_paths", lambda a, b: False)
    final, backup = _make_dir(tmp_path / "model", "old"), _make_dir(tmp_path / "model.prev", "older")
    new = _make_dir(tmp_path / ".model.new-x", "new")
    seen = []

    def check():
        where = final if (final / "file.txt").is_file() else backup
        seen.append((where.name, (where / "file.txt").read_text()))

    _snapshot_after_each_step(monkeypatch, check)
    replace_dir(new, final, backup_dir=backup)
    # The one instant without model/ is covered by model.prev/, which then holds the old folder.
    assert ("model.prev", "old") in seen and seen[-1] == ("model", "new")
    assert (backup / "file.txt").read_text() == "old"


def test_staging_dir_leaves_the_swapped_out_folder_when_keeping_the_backup_fails(tmp_path, monkeypatch):
    _needs_exchange(tmp_path)
    final = _make_dir(tmp_path / "model", "old")
    real_rename = os.rename

    def no_backup(src, dst):
        if str(dst).endswith("model.prev"):
            raise OSError("simulated failure while keeping the backup")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", no_backup)
    with pytest.raises(OSError, match="keeping the backup"):
        with staging_dir(final, backup_dir=tmp_path / "model.prev") as tmp:
            (tmp / "file.txt").write_text("new")
    # The new folder is in place; the old one, swapped out, is left for the next run's clean-up.
    assert (final / "file.txt").read_text() == "new"
    (leftover,) = atomic.stale_staging(final)
    assert (leftover / "file.txt").read_text() == "old"


def test_stale_staging_lists_only_this_modules_names(tmp_path):
    final = tmp_path / "model[1]"
    for name in (
        ".model[1].new-abc",
        ".model[1].old-def",
        ".model[1].new-file",
        ".model.new-other",
        "model[1].new-x",
    ):
        (tmp_path / name).mkdir()
    (tmp_path / ".model[1].new-file").rmdir()
    (tmp_path / ".model[1].new-file").write_text("a file, not a staging folder")
    assert [p.name for p in atomic.stale_staging(final)] == [".model[1].new-abc", ".model[1].old-def"]
