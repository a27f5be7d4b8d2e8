"""``python model.py ui``: the Gradio web UI (imports Gradio only when it runs)."""

from __future__ import annotations

import click

__all__ = ["ui"]


@click.command()
@click.option("--host", default=None, help="Address to listen on (default serving.host, 127.0.0.1).")
@click.option(
    "--port", default=None, type=click.IntRange(0, 65535), help="Port (default serving.ui_port, 7860)."
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
@click.option(
    "--browser/--no-browser", default=True, show_default=True, help="Open the page in the desktop browser."
)
@click.option(
    "--public",
    is_flag=True,
    help="Web-container mode: saving settings needs the admin token from the environment (read-only without one). "
    "Without it, a --host other than loopback makes the settings page read-only.",
)
@click.pass_context
def ui(ctx, host, port, model_dir, model, browser, public):
    """Web UI: read captchas (with the segmentation drawn) and edit config.yaml."""
    from captcha_solver.artifacts import ModelFolderError
    from captcha_solver.registry import RegistryError, model_argument
    from captcha_solver.settings import ConfigError, resolve_config
    from captcha_solver.ui.app import SolverSession, build_ui, launch

    obj = ctx.obj or {}
    if model and model_dir:
        raise click.UsageError("give --model or --model-dir, not both")
    try:
        config, path = resolve_config(obj.get("config"), obj.get("overrides"))
        if model:
            model_dir = model_argument(model, config.registry.model_name)
        host = host or config.serving.host
        session = SolverSession(config, path, model_dir=model_dir, public=public, host=host)
    except (ConfigError, ModelFolderError, RegistryError) as exc:
        raise click.ClickException(str(exc)) from exc
    if session.exposed:
        # Anyone on the network could reconfigure the server: say why the settings page cannot save.
        click.echo(f"ui: {session.access_note()}", err=True)
    launch(
        build_ui(session),
        host=host,
        port=config.serving.ui_port if port is None else port,
        open_browser=browser,
    )
