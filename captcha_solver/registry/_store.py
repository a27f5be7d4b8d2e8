"""The registry itself: model versions, aliases and downloads on MLflow (SQLite by default, or a server).

MLflow is imported only when a :class:`Registry` first talks to its store, so that
reading a model from a plain folder never imports it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from captcha_solver.artifacts import MANIFEST, ModelFolderError, load_manifest
from captcha_solver.registry._refs import ModelRef, RegistryError, parse_ref
from captcha_solver.settings import RegistryConfig

__all__ = ["HISTORY_TAG", "REGISTRY_HOME_ENV", "Registry", "VersionInfo"]

#: When set, the relative paths of the ``registry`` settings (the SQLite file, artifacts and
#: cache folders) are relative to this folder instead of the working directory.
REGISTRY_HOME_ENV = "CAPTCHA_SOLVER_REGISTRY_HOME"
#: Registered-model tag holding the champion alias's history (a JSON list of versions, oldest first).
HISTORY_TAG = "champion_history"
_HISTORY_KEEP = 200
_EXPERIMENT = "captcha-solver-registry"
_ARTIFACT_PATH = "model"


@dataclass(frozen=True)
class VersionInfo:
    """One registered version: its number, aliases, tags, description and where its files are."""

    name: str
    version: int
    aliases: tuple[str, ...] = ()
    tags: dict = field(default_factory=dict)
    description: str = ""
    created_ms: int = 0
    run_id: str = ""
    source: str = ""

    @property
    def label(self) -> str:
        """The label answers carry: ``models:/NAME/VERSION``."""
        return str(ModelRef(self.name, version=self.version))


def _mlflow_error(exc: Exception, what: str) -> RegistryError:
    code = getattr(exc, "error_code", "")
    if code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
        return RegistryError(f"{what}: not found in the registry ({exc})")
    return RegistryError(f"{what}: the registry failed: {type(exc).__name__}: {exc}")


class Registry:
    """The model registry named by the ``registry`` settings.

    Parameters
    ----------
    config : RegistryConfig
    logger : logging.Logger, optional
    """

    def __init__(self, config: RegistryConfig, *, logger=None):
        self.config = config
        self.name = config.model_name
        self.logger = logger
        self._client = None

    # ---------------------------------------------------------------- places
    @staticmethod
    def local_path(path: str) -> Path:
        """A setting's path: absolute as given, else under ``$CAPTCHA_SOLVER_REGISTRY_HOME`` or the working dir."""
        given = Path(path).expanduser()
        return (
            given if given.is_absolute() else Path(os.environ.get(REGISTRY_HOME_ENV) or ".").resolve() / given
        )

    @property
    def uri(self) -> str:
        """The MLflow tracking URI, a relative SQLite path made absolute (its folder is created)."""
        uri = self.config.uri
        if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
            db = self.local_path(uri[len("sqlite:///") :])
            db.parent.mkdir(parents=True, exist_ok=True)
            return f"sqlite:///{db}"
        if "://" not in uri:  # a plain folder: MLflow's file store
            return self.local_path(uri).as_uri()
        return uri

    @property
    def is_local(self) -> bool:
        return not self.uri.startswith(("http://", "https://", "databricks"))

    @property
    def client(self):
        if self._client is None:
            # A dead server must fail in seconds, not after MLflow's default minutes of retries.
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
            os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
            from mlflow import MlflowClient

            self._client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        return self._client

    def _call(self, what: str, fn, *args, **kwargs):
        """Run one MLflow call; its failure becomes a :class:`RegistryError` saying what was asked."""
        try:
            return fn(*args, **kwargs)
        except RegistryError:
            raise
        except Exception as exc:  # noqa: BLE001 - MlflowException, requests and SQL errors alike
            raise _mlflow_error(exc, what) from exc

    # -------------------------------------------------------------- reading
    def exists(self) -> bool:
        """Whether the registered model exists."""
        try:
            self._call(f"model {self.name!r}", self.client.get_registered_model, self.name)
        except RegistryError as exc:
            if "not found" in str(exc):
                return False
            raise
        return True

    def _info(self, mv, aliases: dict[str, int]) -> VersionInfo:
        version = int(mv.version)
        return VersionInfo(
            name=mv.name,
            version=version,
            aliases=tuple(sorted(a for a, v in aliases.items() if v == version)),
            tags=dict(mv.tags or {}),
            description=mv.description or "",
            created_ms=int(mv.creation_timestamp or 0),
            run_id=mv.run_id or "",
            source=mv.source or "",
        )

    def aliases(self) -> dict[str, int]:
        """Alias -> version of the registered model (empty when it has no versions yet)."""
        if not self.exists():
            return {}
        model = self._call(f"model {self.name!r}", self.client.get_registered_model, self.name)
        return {alias: int(v) for alias, v in (model.aliases or {}).items()}

    def history(self) -> list[int]:
        """The champion alias's history, oldest first."""
        model = self._call(f"model {self.name!r}", self.client.get_registered_model, self.name)
        return [int(v) for v in json.loads((model.tags or {}).get(HISTORY_TAG) or "[]")]

    def versions(self) -> list[VersionInfo]:
        """Every version of the registered model, oldest first."""
        if not self.exists():
            return []
        aliases = self.aliases()
        found = self._call(
            f"versions of {self.name!r}", self.client.search_model_versions, f"name = '{self.name}'"
        )
        return sorted((self._info(mv, aliases) for mv in found), key=lambda i: i.version)

    def info(self, version: int) -> VersionInfo:
        """One version.

        Raises
        ------
        RegistryError
            If the model or the version does not exist (the message names them).
        """
        what = f"version {version} of model {self.name!r}"
        mv = self._call(what, self.client.get_model_version, self.name, str(version))
        return self._info(mv, self.aliases())

    def version_of(self, ref: ModelRef) -> int:
        """The version a reference means now (an alias is looked up).

        Raises
        ------
        RegistryError
            If the name, version or alias does not exist.
        """
        if ref.name != self.name:
            return Registry(_renamed(self.config, ref.name), logger=self.logger).version_of(ref)
        if ref.alias is None:
            self.info(ref.version)  # it must exist
            return ref.version
        mv = self._call(f"{ref}", self.client.get_model_version_by_alias, self.name, ref.alias)
        return int(mv.version)

    # ------------------------------------------------------------- aliases
    def set_alias(self, alias: str, version: int) -> None:
        self.info(version)
        self._call(
            f"alias {alias} -> version {version}",
            self.client.set_registered_model_alias,
            self.name,
            alias,
            str(version),
        )

    def promote(self, version: int) -> int | None:
        """Make ``version`` the champion (recorded in the history); returns the previous champion, if any.

        A version that was the challenger stops being one.
        """
        aliases = self.aliases()
        previous = aliases.get("champion")
        self.set_alias("champion", version)
        if aliases.get("challenger") == version:
            self._call("challenger alias", self.client.delete_registered_model_alias, self.name, "challenger")
        self._record(version)
        return previous

    def rollback(self) -> tuple[int, int]:
        """Give the champion alias back to the previous champion; returns ``(from, to)``.

        Raises
        ------
        RegistryError
            If there is no champion, or no previous one in the history.
        """
        current = self.aliases().get("champion")
        if current is None:
            raise RegistryError(f"model {self.name!r} has no champion to roll back")
        history = self.history()
        while history and history[-1] == current:
            history.pop()
        if not history:
            raise RegistryError(
                f"model {self.name!r}: champion {current} has no previous champion to go back to"
            )
        target = history[-1]
        self.set_alias("champion", target)
        self._write_history(history)  # the rolled-back champion leaves the history
        return current, target

    def _record(self, version: int) -> None:
        history = self.history()
        if not history or history[-1] != version:
            history.append(version)
        self._write_history(history)

    def _write_history(self, history: list[int]) -> None:
        text = json.dumps(history[-_HISTORY_KEEP:])
        self._call("champion history", self.client.set_registered_model_tag, self.name, HISTORY_TAG, text)

    # ------------------------------------------------------------- writing
    def _experiment_id(self) -> str:
        client = self.client
        found = self._call("registry experiment", client.get_experiment_by_name, _EXPERIMENT)
        if found is not None:
            return found.experiment_id
        location = None
        if self.is_local:  # a server decides where its artifacts go
            folder = self.local_path(self.config.artifacts_dir)
            folder.mkdir(parents=True, exist_ok=True)
            location = folder.as_uri()
        return self._call(
            "registry experiment", client.create_experiment, _EXPERIMENT, artifact_location=location
        )

    def register(
        self, folder: str | Path, *, tags: dict[str, str], description: str, metrics: dict
    ) -> VersionInfo:
        """Upload a model folder as a new version (a run of its own holds the files).

        The first version becomes ``champion``; a later one becomes ``challenger`` (the champion
        changes only through :meth:`promote`).

        Raises
        ------
        RegistryError
            If the folder is not a checked model, or the registry refuses a step.
        """
        folder = Path(folder)
        try:
            load_manifest(folder)
        except ModelFolderError as exc:
            raise RegistryError(f"{folder} cannot be registered: {exc}") from exc
        client = self.client
        run = self._call("new run", client.create_run, self._experiment_id(), tags=tags, run_name=self.name)
        run_id = run.info.run_id
        try:
            for key, value in metrics.items():
                self._call(f"metric {key}", client.log_metric, run_id, key, value)
            self._call(f"upload of {folder}", client.log_artifacts, run_id, str(folder), _ARTIFACT_PATH)
        except RegistryError:
            self._call("run end", client.set_terminated, run_id, "FAILED")
            raise
        self._call("run end", client.set_terminated, run_id)
        if not self.exists():
            self._call(f"model {self.name!r}", client.create_registered_model, self.name)
        mv = self._call(
            f"new version of {self.name!r}",
            client.create_model_version,
            self.name,
            f"{run.info.artifact_uri}/{_ARTIFACT_PATH}",
            run_id,
            tags=tags,
            description=description,
        )
        version = int(mv.version)
        if "champion" not in self.aliases():
            self.promote(version)
        else:
            self.set_alias("challenger", version)
        return self.info(version)

    # -------------------------------------------------------------- fetching
    def fetch(self, version: int) -> Path:
        """The local folder of a version: downloaded once into the cache, atomically, and checked.

        Raises
        ------
        RegistryError
            If the version does not exist, cannot be downloaded, fails the manifest checks
            (nothing is then kept in the cache), or the cache holds something else at its place.
        """
        info = self.info(version)
        final = self.local_path(self.config.cache_dir) / self.name / str(version)
        if final.exists():
            try:
                load_manifest(final)
                return final
            except ModelFolderError as exc:
                if not (final / MANIFEST).is_file():
                    raise RegistryError(
                        f"cache folder {final} for {info.label} holds something that is not a model; "
                        "move it away (it is not deleted)"
                    ) from exc
                if self.logger:
                    self.logger.warning(
                        "cached copy of %s is broken (%s); downloading it again", info.label, exc
                    )
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{version}.new-", dir=final.parent))
        try:
            got = self._call(
                f"download of {info.label}",
                self.client.download_artifacts,
                info.run_id,
                _ARTIFACT_PATH,
                str(staging),
            )
            try:
                load_manifest(got)
            except ModelFolderError as exc:
                raise RegistryError(f"{info.label} is broken: {exc}") from exc
            if final.exists():
                shutil.rmtree(final)  # our own broken copy (it has a manifest), checked above
            os.replace(got, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return final

    def resolve(self, text: str) -> tuple[Path, VersionInfo]:
        """The local folder and version of a reference (``models:/NAME@alias``, ``models:/NAME/3`` or ``3``)."""
        ref = parse_ref(text, self.name)
        registry = (
            self if ref.name == self.name else Registry(_renamed(self.config, ref.name), logger=self.logger)
        )
        version = registry.version_of(ref)
        return registry.fetch(version), registry.info(version)


def _renamed(config: RegistryConfig, name: str) -> RegistryConfig:
    """The settings for another model name of the same registry."""
    import dataclasses

    from captcha_solver.settings import ConfigError

    try:
        return dataclasses.replace(config, model_name=name)
    except ConfigError as exc:
        raise RegistryError(f"model name {name!r} is not valid: {exc}") from exc
