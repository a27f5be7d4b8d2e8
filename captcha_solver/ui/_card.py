"""The model card: what the loaded model is, from its manifest, as Markdown a newcomer can read."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

__all__ = ["model_card"]


def _figure(value, *, percent: bool = False, unit: str = "") -> str:
    if value is None or isinstance(value, bool):
        return "n/a"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if percent:
        return f"{100 * number:.1f} %"
    return f"{number:.1f}{unit}" if unit else f"{number:g}"


def _lengths(lengths: Mapping | None) -> str:
    if not lengths:
        return "any (not recorded)"
    counts = {int(k): int(v) for k, v in lengths.items()}
    return ", ".join(f"{k} ({counts[k]} captchas)" for k in sorted(counts))


def model_card(
    manifest: Mapping, *, folder: str | Path | None, readers: list[str], version: str | None = None
) -> str:
    """A Markdown card of a model: version, readers, charset, lengths, validation figures, when trained.

    Parameters
    ----------
    manifest : mapping
        The model's manifest in its JSON layout (``Manifest.to_dict()``).
    folder : path or None
        Where it was loaded from.
    readers : list of str
        The readers the loaded model has (``classical``, ``neural``).
    version : str, optional
        Its model-registry version, when it was loaded from the registry.

    Returns
    -------
    markdown : str
        Every figure the manifest lacks is shown as ``n/a``, never left out silently.
    """
    labels = manifest.get("labels") or {}
    charset = labels.get("charset") or manifest.get("charset") or ""
    verified = manifest.get("verified") or {}
    metrics = manifest.get("metrics") or {}
    fusion = manifest.get("fusion") or {}
    data = manifest.get("training_data") or {}
    seconds = manifest.get("training_seconds")
    rows = [
        ("Version", version or "not from the registry (a model folder)"),
        ("Folder", f"`{folder}`" if folder else "n/a"),
        ("Trained", manifest.get("created") or "n/a"),
        ("Training time", f"{float(seconds) / 60:.1f} min" if seconds is not None else "n/a"),
        ("Readers", " + ".join(readers) or "none"),
        ("Characters", f"{len(charset)}: `{charset}`" if charset else "n/a"),
        ("Text lengths", _lengths(labels.get("lengths"))),
        (
            "Trained on",
            f"{data.get('images', 'n/a')} captchas from `{data.get('folder', 'n/a')}`" if data else "n/a",
        ),
    ]
    figures = [
        (
            "Exact answers (validation)",
            _figure(verified.get("val_exact", metrics.get("val_exact")), percent=True),
        ),
        ("Validation captchas", _figure(verified.get("n", metrics.get("val_captchas")))),
        ("Characters right", _figure(metrics.get("val_char"), percent=True)),
        ("Calibration error (ECE)", _figure(verified.get("val_ece", metrics.get("val_ece")))),
        ("Classical reader alone", _figure(fusion.get("val_exact_classical"), percent=True)),
        ("Neural reader alone", _figure(fusion.get("val_exact_neural"), percent=True)),
        ("Fast-path threshold", _figure(fusion.get("min_confidence"))),
        ("Time per captcha", _figure(metrics.get("val_ms_per_captcha"), unit=" ms")),
    ]
    lines = ["### The loaded model", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines += ["", "**Validation figures** (captchas held out of training)", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in figures]
    return "\n".join(lines)
