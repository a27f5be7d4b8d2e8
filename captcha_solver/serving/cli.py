"""``python model.py serve``: the HTTP API under uvicorn.

Kept free of FastAPI imports at module level so that registering the
command does not slow down ``python model.py predict``.
"""

from __future__ import annotations

import json
import os

import click

__all__ = ["serve"]

# The uvicorn factory reads its arguments from the environment, so that
# worker processes (--workers > 1) build the same app as the parent.
_ENV_MODEL_DIR = "CAPTCHA_SOLVER_MODEL_DIR"
_ENV_OVERRIDES = "CAPTCHA_SOLVER_OVERRIDES"


def app_from_env():
    """uvicorn factory: ``create_app`` with the model folder and settings given to ``serve``."""
    from captcha_solver.serving.api import create_app
    from captcha_solver.settings import resolve_config

    overrides = json.loads(os.environ.get(_ENV_OVERRIDES) or "{}")
    config, _ = resolve_config(None, overrides)
    return create_app(model_dir=os.environ.get(_ENV_MODEL_DIR) or None, config=config)


@click.command()
@click.option("--host", default=None, help="Address to listen on (default serving.host, 127.0.0.1).")
@click.option(
    "--port", default=None, type=click.IntRange(0, 65535), help="Port (default serving.port, 8000)."
)
@click.option(
    "--workers", default=None, type=click.IntRange(1, 64), help="Worker processes (default serving.workers)."
)
@click.option(
    "--model-dir", type=click.Path(file_okay=False), default=None, help="Model folder (default ./model)."
)
@click.option(
    "--model",
    default=None,
    metavar="REF",
    help="Registry model (models:/NAME@champion: followed as the alias moves; models:/NAME/3; a version "
    "number) or a model folder.",
)
@click.pass_context
def serve(ctx, host, port, workers, model_dir, model):
    """Serve the HTTP API (POST /predict, /predict/batch; GET /health, /model, /metrics, /docs)."""
    import uvicorn

    from captcha_solver.registry import RegistryError, model_argument
    from captcha_solver.serving._api_key import api_key_from_env
    from captcha_solver.settings import CONFIG_ENV, ConfigError, resolve_config

    obj = ctx.obj or {}
    if model and model_dir:
        raise click.UsageError("give --model or --model-dir, not both")
    try:
        config, path = resolve_config(obj.get("config"), obj.get("overrides"))
        api_key_from_env(config.serving)  # checked here too: worker processes could only crash on it
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if model:
        model_dir = model_argument(model, config.registry.model_name)
    # Hand the choices to the factory (and to every worker process) through the environment.
    os.environ[CONFIG_ENV] = str(path)
    os.environ[_ENV_OVERRIDES] = json.dumps(obj.get("overrides") or {})
    if model_dir:
        os.environ[_ENV_MODEL_DIR] = str(model_dir)
    # onnxruntime and OpenCV threads per request: requests already run in parallel.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    workers = workers or config.serving.workers
    if workers == 1:
        # Built here, so a missing or broken model is reported as a clean CLI error.
        from captcha_solver.artifacts import ModelFolderError
        from captcha_solver.serving.api import create_app

        try:
            app = create_app(model_dir=model_dir, config=config)
        except (ModelFolderError, ConfigError, RegistryError) as exc:
            raise click.ClickException(str(exc)) from exc
        factory = False
    else:
        app, factory = "captcha_solver.serving.cli:app_from_env", True
    uvicorn.run(
        app,
        factory=factory,
        host=host or config.serving.host,
        port=config.serving.port if port is None else port,
        workers=workers,
        log_level=config.logging.level.lower(),
        access_log=False,
        # Longer than any client's or proxy's idle keep-alive (nginx upstream: 60 s): otherwise the
        # server may close an idle connection just as a request is sent on it (a ReadError / 502).
        timeout_keep_alive=75,
        timeout_graceful_shutdown=10,
    )
