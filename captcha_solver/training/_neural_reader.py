"""Training the neural reader of a run in its checkpoint folder (torch is imported only when it trains)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from captcha_solver.settings import Config

__all__ = ["train_neural_reader"]


def train_neural_reader(
    paths,
    val_paths,
    cfg: Config,
    *,
    work_dir: Path,
    logger,
    progress: bool,
    on_epoch=None,
    init_from=None,
    merged=None,
):
    """Train the neural reader (needs torch: the ``train`` extra) in its checkpoint folder.

    The folder, ``<work_dir>/neural-runs/<key>``, is named after the data and
    the network's shape, so a killed run resumes. ``init_from`` is the folder
    of an earlier neural run to start from (self-training); ``merged`` is ``(paths, groups)``:
    the captchas whose labels name each group's characters only as the group
    (see :func:`captcha_solver.training.neural.train_neural`). Returns the folder, the
    scalar metrics, the per-epoch history and the files it could not read (with the reason).
    """
    try:
        from captcha_solver.training.neural import train_neural
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ValueError(f"the neural reader needs torch ({exc}); install the 'train' extra") from exc
    from captcha_solver.training.neural import CHECKPOINT_NAME, config_from_settings

    config = config_from_settings(cfg)
    # A folder named after the data and the network's shape, not a temporary
    # one: a run that is killed resumes from its last epoch when started again.
    key = hashlib.sha256(
        json.dumps(
            [
                sorted(map(str, paths)),
                sorted(map(str, val_paths)),
                config.height,
                config.frame_stride,
                config.width_dilation,
                config.stem,
                list(config.channels),
                config.rnn_hidden,
                config.seed,
                sorted(map(str, merged[0])) if merged else [],
                list(merged[1]) if merged else [],
            ]
        ).encode()
    ).hexdigest()[:16]
    out = work_dir / "neural-runs" / key
    logger.info("neural training checkpoints in %s (a new run with the same data resumes from it)", out)
    metrics = train_neural(
        paths,
        val_paths=val_paths,
        config=config,
        input_settings=cfg.input,
        out_dir=out,
        logger=logger,
        progress=progress,
        on_epoch=on_epoch,
        init_from=Path(init_from) / CHECKPOINT_NAME if init_from is not None else None,
        merged=merged,
    )
    scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float, str, bool))}
    return out, scalars, metrics.get("history", []), metrics.get("skipped", [])
