"""(Re)compute a model folder's monitoring baseline from a labelled folder, and store it in its manifest.

    python bench/baseline.py --model-dir MODEL --dataset DIR

Training stores the baseline itself (the read-back check reads the validation
captchas with the final model and keeps their confidences and lengths). This
script does the same for a folder trained before that, or against another set
of captchas of the style the model serves: it reads every image of ``DIR``
with the model as ``predict`` does, and merges ``monitoring.baseline`` into
``manifest.json`` atomically (the artifacts and their checksums are untouched).
The shipped model's baseline was made this way::

    python model.py generate --out /tmp/seed77 --count 1000 --seed 77 \\
        --background ../shared/datasets/seed-generator/base-img.png \\
        --font ../shared/datasets/seed-generator/arial.ttf
    python bench/baseline.py --model-dir captcha_solver/shipped_model --dataset /tmp/seed77 \
        --source "1000 captchas of generate --seed 77 (seed generator's base-img.png + arial.ttf)"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from captcha_solver.artifacts import update_manifest  # noqa: E402
from captcha_solver.image_io import list_images, read_labelled  # noqa: E402
from captcha_solver.inference import Model  # noqa: E402
from captcha_solver.monitoring import baseline_from  # noqa: E402
from captcha_solver.settings import Config  # noqa: E402


def compute(model_dir: Path, dataset: Path, config: Config | None = None, source: str | None = None) -> dict:
    """Read ``dataset`` with the model in ``model_dir`` and store the baseline; the figures read.

    ``source`` says in the manifest where the captchas came from (default: the ``dataset`` path).
    """
    cfg = config or Config()
    model = Model.load(model_dir, cfg)
    paths, rejected = list_images(dataset, extensions=cfg.input.extensions)
    skipped: list = []
    confidences, lengths, correct = [], [], 0
    for _, label, rgb in read_labelled(paths, cfg.input, skipped=skipped):
        result = model.read(rgb)
        confidences.append(float(result.confidence))
        lengths.append(len(result.text))
        correct += result.text == label
    if not confidences:
        raise SystemExit(
            f"{dataset}: no captcha could be read ({len(rejected) + len(skipped)} files refused)"
        )
    baseline = baseline_from(confidences, lengths)
    update_manifest(
        model_dir, {"monitoring": {"baseline": baseline.to_dict(), "dataset": source or str(dataset)}}
    )
    return {"n": baseline.n, "exact": correct / baseline.n, "skipped": len(rejected) + len(skipped)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True, help="The model folder to update.")
    parser.add_argument("--dataset", type=Path, required=True, help="Labelled captchas of the served style.")
    parser.add_argument("--source", help="Where the captchas came from, for the manifest (default: DIR).")
    args = parser.parse_args(argv)
    found = compute(args.model_dir, args.dataset, source=args.source)
    print(
        f"baseline of {found['n']} readings stored in {args.model_dir}/manifest.json "
        f"(exact {found['exact']:.4f}, {found['skipped']} files skipped)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
