"""The command line: ``captcha-solver`` (or ``python model.py``) and its sub-commands.

A thin shell over :class:`~captcha_solver.solver.My_CaptchaSolver_Model`:
every command resolves its settings by the one rule (``--config`` >
``$CAPTCHA_SOLVER_CONFIG`` > ``./config.yaml`` > the schema's defaults),
calls the solver and turns its errors into a clean message and exit code 1.
``serve`` and ``ui`` are imported only when they run, so ``predict`` never
loads FastAPI or Gradio.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import click

from captcha_solver.artifacts import ModelFolderError
from captcha_solver.common import escape_text, get_logger
from captcha_solver.settings import ConfigError, resolve_config

__all__ = ["cli", "main"]

# Errors of bad input (a missing folder, a full disk, too few labels, an untrained model): a message, not a traceback.

_INPUT_ERRORS = (OSError, ValueError, RuntimeError, ModelFolderError)


class _LazyGroup(click.Group):
    """A group whose shell commands (``serve``, ``ui``) are imported when asked for, and old names still work."""

    lazy = {
        "serve": "captcha_solver.serving.cli:serve",
        "ui": "captcha_solver.ui.cli:ui",
        "models": "captcha_solver.models_cli:models",
    }
    #: Old command names: they run the new command after a warning, and are not listed.
    renamed = {"tune-routing": "tune-fusion"}

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx, name):
        if name in self.renamed:
            click.echo(
                f"warning: '{name}' is now '{self.renamed[name]}'; the old name will go in a later release",
                err=True,
            )
            name = self.renamed[name]
        if name in self.lazy:
            module, _, attr = self.lazy[name].partition(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


def _overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r}: expected section.key=value", param_hint="--set")
        out[key.strip()] = value
    return out


def _solver(ctx, model: str | None = None, **kwargs):
    """The solver of a command; ``model`` is a ``--model`` value (registry reference, version or folder)."""
    from captcha_solver.solver import My_CaptchaSolver_Model

    if model and kwargs.get("model_dir"):
        raise click.UsageError("give --model or --model-dir, not both")
    try:
        config, _ = resolve_config(ctx.obj["config"], ctx.obj["overrides"])
        if model:
            from captcha_solver.registry import model_argument

            kwargs["model_dir"] = model_argument(model, config.registry.model_name)
        return My_CaptchaSolver_Model(config=config, **kwargs)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


#: ``--model`` of the commands that read: a registry reference, a version number or a folder.
_MODEL_OPTION = click.option(
    "--model",
    "model",
    default=None,
    metavar="REF",
    help="Registry model (models:/NAME@champion, models:/NAME/3, or a version number of "
    "registry.model_name) or a model folder.",
)


def _fail(solver, exc: Exception):
    solver.logger.error("%s", exc)
    raise click.ClickException(str(exc)) from exc


#: The ``--model-dir`` option of the commands that read or rewrite one model folder.
_MODEL_DIR = click.option(
    "--model-dir", type=click.Path(file_okay=False), default=None, help="Model folder (default ./model)."
)


@click.group(cls=_LazyGroup)
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None, help="config.yaml to use."
)
@click.option("--set", "sets", multiple=True, metavar="SECTION.KEY=VALUE", help="Override a config value.")
@click.pass_context
def cli(ctx, config_path, sets):
    """Captcha solver: generate, train, evaluate and predict."""
    ctx.obj = {"config": config_path, "overrides": _overrides(sets)}


@cli.command()
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="Folder to write <text>.png files to."
)
@click.option("--count", default=100, show_default=True, type=click.IntRange(1), help="Number of captchas.")
@click.option("--seed", default=0, show_default=True, type=int, help="Same seed, same images.")
@click.option(
    "--background",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Background PNG (repeatable; default: procedural).",
)
@click.option(
    "--font",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="TrueType font (repeatable; default: Liberation Sans).",
)
@click.option("--mix-builtin", is_flag=True, help="Also draw with the project's own background and font.")
@click.option("--workers", default=0, type=click.IntRange(0), help="Processes (0 = all cores).")
def generate(out, count, seed, background, font, mix_builtin, workers):
    """Make captchas the way the public generator does."""
    from captcha_solver.generator import generate_dataset

    backgrounds = list(background) or ["builtin"]
    fonts = list(font) or ["builtin"]
    if mix_builtin:
        backgrounds = sorted(set(backgrounds) | {"builtin"})
        fonts = sorted(set(fonts) | {"builtin"})
    paths = generate_dataset(
        out, count, seed, backgrounds=backgrounds, fonts=fonts, workers=workers or None, progress=True
    )
    get_logger().info("generated %d captchas in %s", len(paths), out)


@cli.command()
@click.option("--dataset", required=True, type=click.Path(), help="Folder of <label>.png captchas.")
@click.option(
    "--model-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to save the model (default ./model).",
)
@click.option("--workers", default=None, type=click.IntRange(0), help="Processes (0 = all cores).")
@click.option(
    "--reader",
    type=click.Choice(["classical", "neural", "auto"]),
    default=None,
    help="What to train (default training.reader, auto): classical, neural (CNN+CTC, needs torch), or "
    "auto: what the data says pays off, fused.",
)
@click.option(
    "--budget",
    default=None,
    type=click.FloatRange(1, 10000),
    help="Wall-clock budget in minutes (default training.budget_minutes, 30).",
)
@click.option(
    "--unlabelled",
    type=click.Path(),
    default=None,
    help="Folder of unlabelled captchas of the same style to self-train on (default training.unlabelled).",
)
@click.pass_context
def train(ctx, dataset, model_dir, workers, reader, budget, unlabelled):
    """Train the best model the budget affords on a folder of labelled captchas (label = file name)."""
    if unlabelled is not None:
        ctx.obj["overrides"]["training.unlabelled"] = unlabelled
    if workers is not None:
        ctx.obj["overrides"]["training.workers"] = workers
    if budget is not None:
        ctx.obj["overrides"]["training.budget_minutes"] = budget
    from captcha_solver.training import TrainingMismatchError

    solver = _solver(ctx, model_dir=model_dir)
    try:
        solver.train(dataset, reader=reader)
    except (FileNotFoundError, NotADirectoryError, ValueError, TrainingMismatchError) as exc:
        _fail(solver, exc)
    manifest = solver.model_.manifest
    summary = {"model_dir": str(solver.model_dir), "readers": manifest.readers, "chosen": manifest.chosen}
    if solver.registered_ is not None:
        summary.update(registered=solver.registered_.label, aliases=list(solver.registered_.aliases))
    click.echo(json.dumps({**summary, **(manifest.metrics or {})}, indent=2))


@cli.command()
@click.option("--dataset", type=click.Path(), default=None, help="Folder of captchas.")
@click.option("--image", type=click.Path(), default=None, help="One captcha file.")
@_MODEL_DIR
@_MODEL_OPTION
@click.option("--results", type=click.Path(dir_okay=False), default=None, help="CSV to append rows to.")
@click.option("--workers", default=0, type=click.IntRange(0), help="Processes (0 = all cores).")
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Read a --dataset here (a process pool) or on Ray (needs the ray extra; .parquet results allowed).",
)
@click.option("--address", default=None, metavar="HOST:PORT", help="Ray cluster head (default: a local Ray).")
@click.pass_context
def predict(ctx, dataset, image, model_dir, model, results, workers, engine, address):
    """Read captchas; rows go to results.csv. Labelled folders also get accuracy figures."""
    from captcha_solver.evaluation import labelled_summary

    if bool(dataset) == bool(image):
        raise click.UsageError("give exactly one of --dataset DIR or --image FILE")
    _check_engine(engine, address, image, results)
    solver = _solver(ctx, model, model_dir=model_dir, results_csv=results)
    try:
        if image:
            rows = [solver.predict_row(image)]
            solver.log_run("predict", image, rows)
        elif engine == "ray":
            rows = _predict_on_ray(solver, dataset, address, workers)
        else:
            rows = solver.predict_dataset(dataset, workers=workers)
    except _INPUT_ERRORS as exc:
        _fail(solver, exc)
    for row in rows:
        name = escape_text(Path(row["file"]).name)  # one line per file, whatever the name holds
        if row["status"] == "ok":
            click.echo(f"{name}\t{row['prediction']}\t{row['confidence']:.3f}")
        else:
            click.echo(f"{name}\tERROR\t{escape_text(row['error'])}")
    summary = labelled_summary(rows, solver.config)
    if summary:
        click.echo(
            f"exact accuracy {summary['exact_accuracy']:.4f}, character accuracy "
            f"{summary['character_accuracy']:.4f}, CER {summary['cer']:.4f} on {summary['n']} images"
        )
    errors = sum(r["status"] == "error" for r in rows)
    click.echo(f"{len(rows)} rows appended to {escape_text(solver.results_csv)} ({errors} errors)")
    if image and errors:
        sys.exit(1)


def _check_engine(engine: str, address: str | None, image: str | None, results: str | None) -> None:
    if engine == "ray" and image:
        raise click.UsageError("--engine ray reads a --dataset folder; read an --image with the local engine")
    if engine != "ray" and address:
        raise click.UsageError("--address is the Ray cluster of --engine ray")
    if engine != "ray" and results and results.lower().endswith(".parquet"):
        raise click.UsageError(f"{results}: Parquet results are written by --engine ray; use a .csv here")


def _predict_on_ray(solver, dataset: str, address: str | None, workers: int) -> list[dict]:
    """``predict --dataset --engine ray``: the folder read on a Ray cluster, rows as a local run writes them."""
    from captcha_solver.distributed import predict_on_ray

    solver.load()
    rows = predict_on_ray(
        solver.model_, dataset, solver.results_csv, address=address, workers=workers, logger=solver.logger
    )
    solver.log_run("predict", dataset, rows)
    return rows


@cli.command()
@click.option("--dataset", required=True, type=click.Path(), help="Folder of labelled captchas.")
@_MODEL_DIR
@_MODEL_OPTION
@click.option("--results", type=click.Path(dir_okay=False), default=None, help="CSV to append rows to.")
@click.option("--workers", default=0, type=click.IntRange(0), help="Processes (0 = all cores).")
@click.option(
    "--json-out", type=click.Path(dir_okay=False), default=None, help="Also write the report as JSON."
)
@click.pass_context
def evaluate(ctx, dataset, model_dir, model, results, workers, json_out):
    """Accuracy, per-character accuracy, confused pairs and glyph ROC AUC on a labelled folder."""
    solver = _solver(ctx, model, model_dir=model_dir, results_csv=results)
    try:
        report = solver.evaluate(dataset, workers=workers)
    except _INPUT_ERRORS as exc:
        _fail(solver, exc)
    text = json.dumps(report, indent=2)
    click.echo(text)
    if json_out:
        from captcha_solver.common import atomic_write_text

        atomic_write_text(json_out, text + "\n")


@cli.command("tune-fusion")
@click.option(
    "--dataset",
    required=True,
    type=click.Path(),
    help="Folder of labelled captchas the model did not train on.",
)
@_MODEL_DIR
@click.pass_context
def tune_fusion(ctx, dataset, model_dir):
    """Refit how both readers combine (weights, temperature, fast-path threshold) on labelled captchas."""
    solver = _solver(ctx, model_dir=model_dir)
    try:
        picked = solver.tune_fusion(dataset)
    except _INPUT_ERRORS as exc:
        _fail(solver, exc)
    click.echo(json.dumps(picked, indent=2))


@cli.command("fit-bearings")
@click.option(
    "--dataset", required=True, type=click.Path(), help="Folder of the labelled captchas it trained on."
)
@_MODEL_DIR
@click.pass_context
def fit_bearings(ctx, dataset, model_dir):
    """Fit the side-bearing table (spacing evidence for fused readings) of a model trained without one."""
    from captcha_solver.training import record_bearings

    solver = _solver(ctx, model_dir=model_dir)
    try:
        spacing = record_bearings(solver.load().model_, dataset, logger=solver.logger).fusion.spacing
    except _INPUT_ERRORS as exc:
        _fail(solver, exc)
    click.echo(f"side bearings fitted on {spacing['n_gaps']} gaps, recorded in {solver.model_dir}")


def main() -> None:
    """Entry point of the ``captcha-solver`` console script."""
    cli()
