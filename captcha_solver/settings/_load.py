"""Reading, overriding and writing ``config.yaml``."""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from captcha_solver.common.atomic import atomic_write_text
from captcha_solver.settings._errors import ConfigError
from captcha_solver.settings._schema import Config

__all__ = [
    "CONFIG_ENV",
    "apply_overrides",
    "config_from_dict",
    "config_path",
    "load_config",
    "parse_config_yaml",
    "render_config_yaml",
    "resolve_config",
    "save_config",
]

CONFIG_NAME = "config.yaml"
#: Names the config.yaml of every command (predict, train, serve, ui...) when no --config is given.
CONFIG_ENV = "CAPTCHA_SOLVER_CONFIG"


def config_path(explicit: str | os.PathLike | None = None) -> Path:
    """The settings file of a command, by the one rule: flag > ``$CAPTCHA_SOLVER_CONFIG`` > ``./config.yaml``.

    Parameters
    ----------
    explicit : path, optional
        ``--config`` from the command line; it wins.

    Returns
    -------
    path : Path
        The file settings are read from and saved to. It may not exist yet
        (then the schema's defaults are used, and a save creates it).
    """
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return Path.cwd() / CONFIG_NAME


def resolve_config(
    explicit: str | os.PathLike | None = None, overrides: Mapping | None = None
) -> tuple[Config, Path]:
    """Load the settings by the one rule and name the file that edits are saved to.

    ``explicit`` (``--config``) > ``$CAPTCHA_SOLVER_CONFIG`` > ``./config.yaml``
    > the schema's defaults; ``overrides`` (``--set``) apply on top.

    Returns
    -------
    config : Config
    path : Path
        See :func:`config_path`.

    Raises
    ------
    ConfigError
        If an explicit file is missing, or the file found is invalid.
    """
    path = config_path(explicit)
    # An explicit path must exist; the environment's or ./config.yaml may not yet.
    if explicit or path.is_file():
        return load_config(path, overrides), path
    return apply_overrides(Config(), overrides), path


def _did_you_mean(name: str, options) -> str:
    close = difflib.get_close_matches(str(name), list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _unknown_section(name, source: str) -> ConfigError:
    sections = Config.sections()
    return ConfigError(
        f"unknown key '{name}' in {source}; known sections: {', '.join(sections)}{_did_you_mean(name, sections)}",
        key=str(name),
    )


def _unknown_key(section: str, name, source: str) -> ConfigError:
    keys = Config.sections()[section].keys()
    return ConfigError(
        f"unknown key '{section}.{name}' in {source}; known keys of '{section}': "
        f"{', '.join(keys)}{_did_you_mean(name, keys)}",
        key=f"{section}.{name}",
    )


def config_from_dict(data: Mapping | None, *, source: str = "<dict>") -> Config:
    """Build and validate a :class:`Config` from a nested dict (e.g. a model manifest).

    Parameters
    ----------
    data : mapping or None
        ``{section: {key: value}}``; missing sections and keys take their
        defaults. ``None`` (an empty YAML file) means all defaults.
    source : str, optional
        Name used in error messages (the file name).

    Returns
    -------
    config : Config

    Raises
    ------
    ConfigError
        On an unknown section or key, a section that is not a mapping, or an
        invalid value; the message names the dotted key and ``source``.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{source} must be a mapping of sections (e.g. 'segmentation:'), found {type(data).__name__}"
        )
    sections = Config.sections()
    built = {}
    for name, values in data.items():
        if name not in sections:
            raise _unknown_section(name, source)
        if values is None:
            values = {}
        if not isinstance(values, Mapping):
            raise ConfigError(
                f"section '{name}' in {source} must be a mapping of keys to values, found {type(values).__name__}",
                key=str(name),
            )
        for key in values:
            if key not in sections[name].keys():
                raise _unknown_key(name, key, source)
        try:
            built[name] = sections[name](**values)
        except ConfigError as error:
            raise error.with_source(source) from None
    return Config(**built)


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"YAML syntax error{where}: {getattr(error, 'problem', None) or error}"


def _duplicate_keys(node: yaml.Node, source: str, path: tuple[str, ...] = (), seen_nodes=None) -> None:
    """Raise on the first mapping key written twice (YAML itself keeps the last one, silently)."""
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:  # an alias: already checked (and may be recursive)
        return
    seen_nodes.add(id(node))
    children = []
    if isinstance(node, yaml.MappingNode):
        first_line: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # "<<: *defaults" may be overridden by design
                children.append((value_node, path))
                continue
            name = ".".join(path + (str(key_node.value),))
            line = key_node.start_mark.line + 1
            if isinstance(key_node, yaml.ScalarNode):
                ident = (key_node.tag, key_node.value)
                if ident in first_line:
                    raise ConfigError(
                        f"duplicate key '{name}' at line {line} (first at line {first_line[ident]}); "
                        f"write each key once",
                        key=name,
                        source=source,
                    )
                first_line[ident] = line
            children.append((value_node, path + (str(key_node.value),)))
    elif isinstance(node, yaml.SequenceNode):
        children = [(item, path) for item in node.value]
    for child, child_path in children:
        _duplicate_keys(child, source, child_path, seen_nodes)


def parse_config_yaml(text: str, *, source: str = "<text>"):
    """The data of a ``config.yaml`` text: like ``yaml.safe_load``, but a key written twice is an error.

    Parameters
    ----------
    text : str
    source : str, optional
        Name used in error messages (the file name).

    Returns
    -------
    data : object
        What the YAML holds (``None`` for an empty text); :func:`config_from_dict` checks it.

    Raises
    ------
    ConfigError
        On a YAML syntax error (with its line and column) or a duplicate key
        (with its dotted name and both lines).
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _duplicate_keys(node, source)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise ConfigError(_yaml_problem(error), source=source) from None
    finally:
        loader.dispose()


def _parse_override(value, current, key: str, allowed: str):
    # CLI flags often arrive as text ("--set training.seed=3"): text for a
    # non-string key is read as a YAML scalar so "3", "0.5", "true" work.
    if not isinstance(value, str) or isinstance(current, str):
        return value
    if isinstance(current, tuple):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                return yaml.safe_load(stripped)
            except yaml.YAMLError as error:
                raise ConfigError.invalid(
                    key,
                    value,
                    f"{allowed}, written [a, b] or a,b; the brackets do not parse ({_yaml_problem(error)})",
                ) from None
        return [item.strip() for item in stripped.split(",") if item.strip()]
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value


def apply_overrides(config: Config, overrides: Mapping | None, *, source: str = "overrides") -> Config:
    """Return ``config`` with dotted-key overrides applied and validated (see :func:`load_config`)."""
    if not overrides:
        return config
    sections = Config.sections()
    per_section: dict[str, dict] = {}
    for dotted, value in overrides.items():
        if value is None:  # a CLI flag that was not given
            continue
        section, dot, key = str(dotted).partition(".")
        if not dot or not key:
            raise ConfigError(
                f"override key '{dotted}' in {source} must be a dotted 'section.key'; "
                f"known sections: {', '.join(sections)}",
                key=str(dotted),
            )
        if section not in sections:
            raise _unknown_section(section, source)
        if key not in sections[section].keys():
            raise _unknown_key(section, key, source)
        current = getattr(getattr(config, section), key)
        try:
            parsed = _parse_override(
                value, current, f"{section}.{key}", sections[section].describe_key(key)[1]
            )
        except ConfigError as error:
            raise error.with_source(source) from None
        per_section.setdefault(section, {})[key] = parsed
    replaced = {}
    for section, values in per_section.items():
        try:
            replaced[section] = dataclasses.replace(getattr(config, section), **values)
        except ConfigError as error:
            raise error.with_source(source) from None
    return dataclasses.replace(config, **replaced)


def load_config(path: str | os.PathLike | None = None, overrides: Mapping | None = None) -> Config:
    """Read, validate and return the configuration.

    Parameters
    ----------
    path : str or PathLike, optional
        The YAML file. By default the one rule of :func:`resolve_config`:
        ``$CAPTCHA_SOLVER_CONFIG``, else ``./config.yaml``, else the schema's
        defaults (no file).
    overrides : mapping, optional
        Flat ``{"section.key": value}`` applied after the file and validated the
        same way. ``None`` values are skipped (flags not given); text values
        for non-text keys are parsed as YAML (``"0.5"`` -> 0.5), and for list
        keys ``"a,b"`` means ``["a", "b"]``.

    Returns
    -------
    config : Config
        Frozen; every key not in the file has its default.

    Raises
    ------
    ConfigError
        If the file is missing, unreadable or not valid YAML, a key is
        written twice, or any section, key or value is unknown or invalid
        (NaN and infinity included). The message names the file (or
        "overrides"), the dotted key, the value and what is allowed.
    """
    if path is None:
        return resolve_config(None, overrides)[0]
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {source}") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {source} is a folder, expected a YAML file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {source}: {error}") from None
    data = parse_config_yaml(text, source=source)
    config = config_from_dict(data, source=source)
    return apply_overrides(config, overrides)


def render_config_yaml(config: Config) -> str:
    """The YAML text of ``config``, with each key's documentation and allowed values as comments."""
    lines = [
        "# Every parameter of the captcha solver. Values are validated at load time;",
        "# flags such as --set section.key=value override them for one run.",
    ]
    for name, cls in Config.sections().items():
        lines += ["", f"# {(cls.__doc__ or '').strip().splitlines()[0]}", f"{name}:"]
        for key, value in getattr(config, name).to_dict().items():
            doc, allowed = cls.describe_key(key)
            lines.append(f"  # {doc} Allowed: {allowed}.")
            dumped = yaml.safe_dump({key: value}, default_flow_style=True, sort_keys=False, width=1000)
            # safe_dump wraps a one-key mapping in braces in flow style: strip them.
            lines.append("  " + dumped.strip()[1:-1].strip())
    return "\n".join(lines) + "\n"


def save_config(config: Config, path: str | os.PathLike) -> Path:
    """Write ``config`` as commented YAML, atomically.

    Parameters
    ----------
    config : Config
    path : str or PathLike
        Destination; its folder is created if needed.

    Returns
    -------
    path : Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, render_config_yaml(config))
