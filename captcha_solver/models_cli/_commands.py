"""The ``models`` command group: the registry named by the ``registry`` settings, from the shell."""

from __future__ import annotations

import json
import time

import click

from captcha_solver.common import atomic_write_text, escape_text
from captcha_solver.registry import Registry, RegistryError, VersionInfo
from captcha_solver.settings import ConfigError, resolve_config

__all__ = ["models"]


def _config(ctx):
    obj = ctx.obj or {}
    try:
        return resolve_config(obj.get("config"), obj.get("overrides"))[0]
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _registry(ctx) -> Registry:
    from captcha_solver.common import get_logger

    config = _config(ctx)
    logger = get_logger(config.paths.log_file, level=config.logging.level, console=config.logging.console)
    return Registry(config.registry, logger=logger)


def _run(fn):
    """Registry and input errors as a clean message and exit code 1."""
    try:
        return fn()
    except (RegistryError, OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


def _row(info: VersionInfo) -> str:
    created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(info.created_ms / 1000)) if info.created_ms else ""
    exact = info.tags.get("metric.val_exact", "")
    data = info.tags.get("training_data_sha256", "")[:12]
    return (
        f"{info.version:>7}  {','.join(info.aliases) or '-':<20} {created:<16}  {exact:<9} "
        f"{info.tags.get('readers', ''):<17} {data}"
    )


@click.group()
@click.pass_context
def models(ctx):
    """The model registry (registry.uri): versions, aliases (champion, challenger), promotion and comparison."""


@models.command("list")
@click.pass_context
def list_versions(ctx):
    """Every version with its aliases, date, validation exact accuracy, readers and training-data hash."""
    registry = _registry(ctx)
    versions = _run(registry.versions)
    if not versions:
        click.echo(f"no versions of {registry.name!r} in {registry.uri}")
        return
    click.echo(
        f"{'version':>7}  {'aliases':<20} {'created (UTC)':<16}  {'val_exact':<9} {'readers':<17} data sha256"
    )
    for info in versions:
        click.echo(_row(info))


@models.command()
@click.argument("version", type=click.IntRange(1))
@click.pass_context
def show(ctx, version):
    """One version: aliases, description, tags (metrics, plan, data hash, tracking run), run and files."""
    registry = _registry(ctx)
    info = _run(lambda: registry.info(version))
    doc = {
        "model": info.label,
        "aliases": list(info.aliases),
        "description": info.description,
        "run_id": info.run_id,
        "source": info.source,
        "tags": dict(sorted(info.tags.items())),
    }
    click.echo(json.dumps(doc, indent=2))


@models.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.pass_context
def register(ctx, folder):
    """Register a trained model folder (e.g. one trained before the registry) as a new version."""
    from pathlib import Path

    from captcha_solver.artifacts import load_manifest
    from captcha_solver.registry import version_tags

    registry = _registry(ctx)

    def go():
        manifest = load_manifest(folder)
        metrics = {k: float(v) for k, v in (manifest.metrics or {}).items() if isinstance(v, (int, float))}
        return registry.register(
            folder,
            tags=version_tags(manifest, Path(folder)),
            description=f"registered from {folder}",
            metrics={k: v for k, v in metrics.items() if not isinstance(v, bool)},
        )

    info = _run(go)
    click.echo(f"registered {info.label} (aliases: {', '.join(info.aliases) or 'none'})")


def _solver(ctx, ref: str):
    from captcha_solver.solver import My_CaptchaSolver_Model

    return My_CaptchaSolver_Model(ref, _config(ctx)).load()


@models.command()
@click.argument("version", type=click.IntRange(1))
@click.option(
    "--gate",
    type=click.Path(),
    default=None,
    help="Labelled folder: refuse unless VERSION reads at least as many of its captchas exactly right "
    "as the champion.",
)
@click.pass_context
def promote(ctx, version, gate):
    """Make VERSION the champion (what servers following models:/NAME@champion switch to)."""
    registry = _registry(ctx)
    champion = _run(registry.aliases).get("champion")
    if gate and champion is not None and champion != version:
        from captcha_solver.models_cli._compare import compare_versions

        def measure():
            current = _solver(ctx, f"models:/{registry.name}/{champion}")
            challenger = _solver(ctx, f"models:/{registry.name}/{version}")
            return compare_versions(current, challenger, gate)

        summary = _run(measure).summary()
        click.echo(_accuracy_line(summary["a"]) + "\n" + _accuracy_line(summary["b"]))
        if summary["b"]["correct"] < summary["a"]["correct"]:
            raise click.ClickException(
                f"promotion refused: version {version} reads {summary['b']['correct']} of {summary['b']['n']} "
                f"captchas of {gate} right, the champion (version {champion}) {summary['a']['correct']}"
            )
    previous = _run(lambda: registry.promote(version))
    click.echo(f"champion: version {version} (was {previous if previous is not None else 'none'})")


@models.command()
@click.pass_context
def rollback(ctx):
    """Give the champion alias back to the previous champion (from the alias history)."""
    registry = _registry(ctx)
    current, target = _run(registry.rollback)
    click.echo(f"champion: version {target} (was {current})")


def _accuracy_line(part: dict) -> str:
    low, high = part["ci95"]
    return (
        f"{part['model']}: exact accuracy {part['exact_accuracy']:.4f} ({part['correct']}/{part['n']}), "
        f"95% interval [{low:.4f}, {high:.4f}]"
    )


@models.command()
@click.argument("a", metavar="V")
@click.argument("b", metavar="W")
@click.option("--dataset", required=True, type=click.Path(), help="Labelled folder both versions read.")
@click.option(
    "--json-out", type=click.Path(dir_okay=False), default=None, help="Also write the comparison as JSON."
)
@click.option("--workers", default=0, type=click.IntRange(0), help="Processes (0 = all cores).")
@click.pass_context
def compare(ctx, a, b, dataset, json_out, workers):
    """Read one labelled folder with versions V and W: accuracy of each, and the captchas they read differently.

    V and W are version numbers or references (models:/NAME@champion); a model folder works too.
    """
    from captcha_solver.models_cli._compare import compare_versions
    from captcha_solver.registry import model_argument

    config = _config(ctx)
    refs = [model_argument(v, config.registry.model_name) for v in (a, b)]
    result = _run(
        lambda: compare_versions(_solver(ctx, refs[0]), _solver(ctx, refs[1]), dataset, workers=workers)
    )
    summary = result.summary()
    click.echo(_accuracy_line(summary["a"]))
    click.echo(_accuracy_line(summary["b"]))
    diff = result.differences()
    click.echo(f"{len(diff)} of {result.n} captchas read differently ({summary['skipped']} files skipped):")
    if diff:
        click.echo(f"{'file':<24} {'truth':<10} {'V reads':<10} {'W reads':<10} right")
        for d in diff:
            who = (
                "both"
                if d["a_right"] and d["b_right"]
                else "V"
                if d["a_right"]
                else "W"
                if d["b_right"]
                else "neither"
            )
            click.echo(
                f"{escape_text(d['file']):<24} {d['truth']:<10} {escape_text(d['a']):<10} {escape_text(d['b']):<10} {who}"
            )
    click.echo(
        f"right for V only: {len(summary['only_a_right'])}; right for W only: {len(summary['only_b_right'])}"
    )
    if json_out:
        atomic_write_text(json_out, json.dumps({**summary, "differences": diff}, indent=2) + "\n")
