"""Manual training run: ``python -m captcha_solver.neural.train --dataset DIR --out DIR [--epochs N]``."""

from __future__ import annotations

import argparse
import json
import sys

from captcha_solver.common import get_logger
from captcha_solver.image_io import list_images
from captcha_solver.neural._config import config_from_settings
from captcha_solver.planning import plan_training, survey_dataset
from captcha_solver.settings import ConfigError, load_config
from captcha_solver.training import stage_params


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m captcha_solver.neural.train", description=__doc__)
    parser.add_argument("--dataset", required=True, help="folder of <label>.png captchas")
    parser.add_argument(
        "--out",
        required=True,
        help="folder for neural_reader.onnx/.json and the checkpoint",
    )
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--height", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--patience", type=int, default=None)
    parser.add_argument("--frame-stride", type=int, choices=(2, 4), default=None)
    parser.add_argument("--width-dilation", type=int, choices=(1, 2, 3), default=None)
    parser.add_argument(
        "--no-geometry-augment", action="store_true", help="no rotation/shear/scale/width jitter"
    )
    parser.add_argument(
        "--no-stretch-augment", action="store_true", help="no width-only stretch (keeps aspect ratios)"
    )
    parser.add_argument("--weight-decay", type=float, default=None, help="AdamW weight decay")
    parser.add_argument("--dropout", type=float, default=None, help="dropout before the classifier")
    parser.add_argument(
        "--max-minutes", type=float, default=None, help="time budget; the epochs are fitted to it"
    )
    parser.add_argument(
        "--ema-decay", type=float, default=None, help="moving average of the weights per step (0: off)"
    )
    parser.add_argument(
        "--stem",
        choices=("pool", "strided"),
        default=None,
        help="first conv block (strided: faster at height 64)",
    )
    parser.add_argument("--val-fraction", type=float, default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (0: all cores)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N images (by name)")
    parser.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Train the neural reader from the command line; 0 on success, 1 on bad data (logged)."""
    args = _parser().parse_args(argv)

    log = get_logger(log_file=None)
    changes = {
        k: v
        for k, v in {
            "epochs": args.epochs,
            "height": args.height,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "weight_decay": args.weight_decay,
            "dropout": args.dropout,
            "patience": args.patience,
            "max_minutes": args.max_minutes,
            "frame_stride": args.frame_stride,
            "width_dilation": args.width_dilation,
            "stem": args.stem,
            "aug_affine": False if args.no_geometry_augment else None,
            "aug_stretch": False if args.no_stretch_augment else None,
            "ema_decay": args.ema_decay,
            "val_fraction": args.val_fraction,
            "threads": args.threads,
            "seed": args.seed,
        }.items()
        if v is not None
    }
    try:
        # Defaults from the settings (--config rule: $CAPTCHA_SOLVER_CONFIG, ./config.yaml, the schema),
        # the same as `model.py train --reader neural`; the flags override them.
        paths, rejected = list_images(args.dataset)
        for p, why in rejected:
            log.warning("skipped %s: %s", p, why)
        if args.limit:
            paths = paths[: args.limit]
        # Settings left "from the data" are chosen from these captchas, as `model.py train` chooses them.
        settings = load_config()
        survey = survey_dataset(
            [str(p) for p in paths],
            stage_params(settings)[0],
            seed=settings.training.seed,
            input_settings=settings.input,
        )
        settings = plan_training(survey, settings, reader="neural").config
        config = config_from_settings(settings).replace(**changes)
        from captcha_solver.neural._train import train_neural

        metrics = train_neural(
            paths,
            config=config,
            out_dir=args.out,
            logger=log,
            progress=not args.no_progress,
            resume=not args.no_resume,
        )
    except (ValueError, OSError, ConfigError) as exc:
        log.error("neural training failed: %s", exc)
        return 1
    metrics.pop("history", None)
    print(json.dumps(metrics, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
