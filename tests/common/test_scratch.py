import os
import subprocess
import sys
from pathlib import Path

from captcha_solver.common import ScratchDir, remove_stale_scratch

ROOT = Path(__file__).resolve().parents[2]


def test_scratch_dir_is_removed_on_cleanup(tmp_path):
    scratch = ScratchDir("captcha-train-", root=tmp_path)
    (scratch.path / "glyph_classifier.onnx").write_bytes(b"x")
    scratch.cleanup()
    assert list(tmp_path.iterdir()) == []
    with ScratchDir("captcha-train-", root=tmp_path) as path:
        assert path.is_dir()
    assert list(tmp_path.iterdir()) == []


def test_remove_stale_scratch_deletes_what_a_killed_run_left_and_spares_live_ones(tmp_path):
    # A run killed before its clean-up (os._exit: no finally, no atexit).
    code = (
        "import os, sys; from captcha_solver.common import ScratchDir; "
        "s = ScratchDir('captcha-train-', root=sys.argv[1]); (s.path / 'glyph_classifier.onnx').write_bytes(b'x'); "
        "print(s.name, flush=True); os._exit(9)"
    )
    killed = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True
    )
    assert killed.returncode == 9, killed.stderr
    dead = Path(killed.stdout.strip())
    assert dead.is_dir()
    live = ScratchDir("captcha-train-", root=tmp_path)  # this process still works in it
    other = tmp_path / "someone-elses-folder"
    other.mkdir()
    plain_file = tmp_path / "captcha-train-notes.txt"
    plain_file.write_text("a file, not a scratch folder")
    link = tmp_path / "captcha-train-link"
    os.symlink(other, link)

    assert remove_stale_scratch("captcha-train-", root=tmp_path) == [dead]
    assert not dead.exists()
    assert live.path.is_dir() and other.is_dir() and plain_file.is_file() and link.is_symlink()
    live.cleanup()
    assert remove_stale_scratch("captcha-train-", root=tmp_path) == []
