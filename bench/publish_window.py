"""How long a model publication leaves the model folder without a loadable model.

Publishes a small model over an existing one in a child process run under
``strace``, which delays every rename system call (``rename``, ``renameat``,
``renameat2``) by ``--delay`` seconds, and samples the folder every 20 ms
with ``artifacts.load_manifest`` (the folder itself) and
``artifacts.load_model_folder`` (what ``load`` does: the folder, else its
backup). Prints each distinct state and the number of samples in which
there was no loadable model. ``--no-exchange`` publishes as on a platform
without ``renameat2(RENAME_EXCHANGE)``. Needs ``strace`` (Linux)::

    python bench/publish_window.py [--delay 1.5] [--no-exchange]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from captcha_solver.artifacts import ModelFolderError, load_manifest, load_model_folder, save_model  # noqa: E402

# What load_manifest requires of a classical reader's manifest (the ONNX file itself is never run here).
_MANIFEST = {"charset": "ab", "class_columns": [0, 1, 2], "segmentation": {}, "features": {}, "decoding": {}}
_CHILD = """
import json, sys
from pathlib import Path
import captcha_solver.common.atomic
from captcha_solver.artifacts import save_model
if sys.argv[3] == "no-exchange":
    captcha_solver.common.atomic.exchange_paths = lambda a, b: False
save_model(sys.argv[1], {"glyph_classifier.onnx": Path(sys.argv[2])}, json.loads(sys.argv[4]))
"""


def _state(model_dir: Path) -> tuple[str, str]:
    try:
        load_manifest(model_dir)
        strict = "model/ holds " + (model_dir / "glyph_classifier.onnx").read_text()
    except (ModelFolderError, OSError) as exc:
        strict = f"NO MODEL in model/ ({type(exc).__name__})"
    try:
        folder, _ = load_model_folder(model_dir)
        loaded = f"load reads {folder.name}/ ({(folder / 'glyph_classifier.onnx').read_text()})"
    except (ModelFolderError, OSError) as exc:
        loaded = f"load FAILS ({type(exc).__name__})"
    return strict, loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--delay", type=float, default=1.5, help="Seconds each rename system call is delayed."
    )
    parser.add_argument(
        "--no-exchange", action="store_true", help="Publish with two renames, as without renameat2."
    )
    args = parser.parse_args()
    if shutil.which("strace") is None:
        sys.exit("error: strace not found; this measurement needs it (apt-get install strace)")
    root = Path(tempfile.mkdtemp(prefix="publish-window-"))
    try:
        model_dir = root / "model"
        for text in ("older", "old"):  # a model and a backup, as after two trainings
            (root / "src").write_text(text)
            save_model(model_dir, {"glyph_classifier.onnx": root / "src"}, _MANIFEST)
        (root / "src").write_text("new")
        syscalls = "rename,renameat,renameat2"
        cmd = [
            "strace",
            "-f",
            "-qq",
            "-o",
            os.devnull,
            "-e",
            f"trace={syscalls}",
            "-e",
            f"inject={syscalls}:delay_exit={int(args.delay * 1e6)}",
            sys.executable,
            "-c",
            _CHILD,
            str(model_dir),
            str(root / "src"),
            "no-exchange" if args.no_exchange else "exchange",
            json.dumps(_MANIFEST),
        ]
        child = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        samples = missing = unloadable = 0
        last = None
        t0 = time.perf_counter()
        while child.poll() is None:
            state = _state(model_dir)
            samples += 1
            missing += state[0].startswith("NO MODEL")
            unloadable += state[1].startswith("load FAILS")
            if state != last:
                print(f"{time.perf_counter() - t0:6.2f} s  {state[0]}; {state[1]}")
                last = state
            time.sleep(0.02)
        if child.returncode != 0:
            sys.exit(f"error: the publication failed (exit status {child.returncode})")
        print(f"{time.perf_counter() - t0:6.2f} s  done: {'; '.join(_state(model_dir))}")
        print(f"samples without a model in model/: {missing} of {samples}")
        print(f"samples where load found no model (model/ nor model.prev/): {unloadable} of {samples}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
