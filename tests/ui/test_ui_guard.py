"""What the settings page may change, and that a refused save changes nothing (issue 11, part 7)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from captcha_solver.common import LOGGER_NAME, RESULTS_COLUMNS
from captcha_solver.settings import resolve_config
from captcha_solver.ui._guard import AttemptLimiter
from captcha_solver.ui.app import SolverSession

SECRET = "TOP-SECRET-first-line"
EDIT = "serving:\n  max_batch: 9\n"


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def project(tmp_path, trained_model_dir, monkeypatch):
    """A project folder as the working directory: config.yaml, data/ with its log, the trained model."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(
        f"paths:\n  model_dir: {trained_model_dir}\n  results_csv: data/results.csv\n  log_file: data/log_file.log\n"
        "logging:\n  console: false\n",
        encoding="utf-8",
    )
    return tmp_path


def _session(project, monkeypatch, *, token="", **kwargs) -> SolverSession:
    monkeypatch.setenv("CAPTCHA_ADMIN_TOKEN", token)
    monkeypatch.delenv("CAPTCHA_SOLVER_PUBLIC", raising=False)
    config, path = resolve_config(project / "config.yaml")
    return SolverSession(config, path, **kwargs)


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _log_target() -> Path:
    (handler,) = [h for h in logging.getLogger(LOGGER_NAME).handlers if isinstance(h, logging.FileHandler)]
    return Path(handler.baseFilename)


@pytest.mark.parametrize(
    "key, value",
    [
        ("log_file", "../outside/ui.log"),
        ("log_file", "{outside}/deep/ui.log"),
        ("log_file", "data/../../escape/ui.log"),
        ("results_csv", "../outside/results.csv"),
        ("results_csv", "{outside}/deep/results.csv"),
        ("model_dir", "../outside/model"),
    ],
)
def test_paths_outside_the_data_and_model_folders_are_refused(
    project, monkeypatch, tmp_path_factory, key, value
):
    outside = tmp_path_factory.mktemp("outside")
    value = value.format(outside=outside)
    session = _session(project, monkeypatch)
    config_file = project / "config.yaml"
    before, tree, log = config_file.read_bytes(), _tree(project), _log_target()
    message, _ = session.save_settings(_with_paths(config_file.read_text(), **{key: value}))
    assert message.startswith("Refused") and f"paths.{key}" in message and "data" in message
    # No side effect: nothing created inside or outside the project, config.yaml and the log untouched.
    assert config_file.read_bytes() == before and _tree(project) == tree
    assert not (project.parent / "outside").exists() and list(outside.iterdir()) == []
    assert _log_target() == log and session.config.paths == resolve_config(config_file)[0].paths


def _with_paths(text: str, **values) -> str:
    """``text`` with the named ``paths`` keys replaced (they are all in the fixture's file)."""
    lines = []
    for line in text.splitlines():
        key = line.strip().partition(":")[0]
        lines.append(f"  {key}: {values[key]}" if line.startswith("  ") and key in values else line)
    return "\n".join(lines) + "\n"


def test_paths_inside_the_data_folder_are_accepted(project, monkeypatch):
    session = _session(project, monkeypatch)
    config_file = project / "config.yaml"
    message, _ = session.save_settings(
        _with_paths(config_file.read_text(), log_file="data/logs/ui.log", results_csv="data/runs/ui.csv")
    )
    assert message.startswith("Saved"), message
    assert _log_target() == project / "data" / "logs" / "ui.log"
    assert session.solver.results_csv == Path("data/runs/ui.csv")


@pytest.mark.parametrize(
    "key, value, reason",
    [
        ("log_file", "data/notes.txt", "'.log'"),
        ("results_csv", "data/results.txt", "'.csv'"),
        ("log_file", "data/results.log/", "'.log'"),  # a folder named like a log
        ("results_csv", "data/log_file.log", "'.csv'"),
        ("log_file", '"data/a\\0.log"', "not a usable path"),  # YAML's \0 is a NUL byte
    ],
)
def test_ui_paths_need_their_file_kind(project, monkeypatch, key, value, reason):
    (project / "data" / "results.log").mkdir()
    session = _session(project, monkeypatch)
    before = (project / "config.yaml").read_bytes()
    message, _ = session.save_settings(_with_paths((project / "config.yaml").read_text(), **{key: value}))
    assert message.startswith("Refused") and f"paths.{key}" in message and reason in message
    assert (project / "config.yaml").read_bytes() == before


def test_results_csv_at_a_foreign_file_is_refused_without_echoing_it(project, monkeypatch):
    notes = project / "data" / "notes.csv"
    notes.write_text(SECRET + "\nmore\n", encoding="utf-8")
    outside = project.parent / f"{project.name}-secret.csv"
    outside.write_text(SECRET + "\n", encoding="utf-8")
    session = _session(project, monkeypatch)
    config_file = project / "config.yaml"
    before = config_file.read_bytes()
    for target in ("data/notes.csv", str(outside)):
        message, text = session.save_settings(_with_paths(config_file.read_text(), results_csv=target))
        assert message.startswith("Refused") and "paths.results_csv" in message
        assert SECRET not in message and SECRET not in text
    assert config_file.read_bytes() == before
    assert notes.read_text(encoding="utf-8") == SECRET + "\nmore\n"


def test_results_csv_at_an_existing_results_file_is_accepted(project, monkeypatch):
    (project / "data" / "old.csv").write_text(",".join(RESULTS_COLUMNS) + "\n", encoding="utf-8")
    session = _session(project, monkeypatch)
    message, _ = session.save_settings(
        _with_paths((project / "config.yaml").read_text(), results_csv="data/old.csv")
    )
    assert message.startswith("Saved"), message


def test_predict_does_not_echo_a_foreign_results_file(project, monkeypatch, captcha_dir):
    # Set on the server (not through the page): the page still must not show the file's first line.
    secret = project / "secret.csv"
    secret.write_text(SECRET + "\n", encoding="utf-8")
    config_file = project / "config.yaml"
    config_file.write_text(_with_paths(config_file.read_text(), results_csv=str(secret)), encoding="utf-8")
    session = _session(project, monkeypatch)
    shown = session.predict(str(min(captcha_dir.glob("*.png"))))
    assert shown[:3] == ("", "", None)
    assert "results file" in shown[3] and SECRET not in "".join(map(str, shown))
    assert secret.read_text(encoding="utf-8") == SECRET + "\n"


def test_a_refused_save_has_no_side_effects(project, monkeypatch):
    broken = project / "model" / "broken"
    broken.mkdir(parents=True)
    (broken / "manifest.json").write_text("{}", encoding="utf-8")
    session = _session(project, monkeypatch)
    config_file = project / "config.yaml"
    before, tree, log, solver = config_file.read_bytes(), _tree(project), _log_target(), session.solver
    edit = _with_paths(config_file.read_text(), model_dir="model/broken", log_file="data/new/ui.log")
    message, text = session.save_settings(edit.replace("console: false", "console: false\n  level: DEBUG"))
    assert message.startswith("Refused: the model does not load"), message
    assert text.startswith(edit[:20])
    assert config_file.read_bytes() == before
    assert _tree(project) == tree and not (project / "data" / "new").exists()
    assert _log_target() == log and logging.getLogger(LOGGER_NAME).level == logging.INFO
    assert session.solver is solver


@pytest.mark.parametrize(
    "key, value", [("api_key_env", "NO_SUCH_VARIABLE"), ("admin_token_env", "HOME"), ("host", "0.0.0.0")]
)
def test_security_keys_are_not_editable(project, monkeypatch, key, value):
    session = _session(project, monkeypatch)
    config_file = project / "config.yaml"
    before = config_file.read_bytes()
    message, _ = session.save_settings(config_file.read_text() + f"serving:\n  {key}: {value}\n")
    assert (
        message.startswith("Refused")
        and f"serving.{key}" in message
        and "config.yaml on the server" in message
    )
    assert config_file.read_bytes() == before
    assert getattr(session.config.serving, key) != value


def test_security_keys_left_as_they_are_do_not_block_a_save(project, monkeypatch):
    session = _session(project, monkeypatch)
    text = session.settings_text() + "serving:\n  api_key_env: CAPTCHA_API_KEY\n  max_batch: 9\n"
    assert session.save_settings(text)[0].startswith("Saved")


def test_wrong_admin_tokens_are_rate_limited(project, monkeypatch):
    clock = FakeClock()
    limiter = AttemptLimiter(max_failures=3, window_s=60, lockout_s=300, clock=clock)
    session = _session(project, monkeypatch, public=True, token="t0ken", token_limiter=limiter)
    edit = (project / "config.yaml").read_text() + EDIT
    for _ in range(3):
        assert session.save_settings(edit, "guess")[0] == "Refused: wrong or missing admin token."
        clock.now += 1
    # Locked: even the right token is refused, with the time left.
    message = session.save_settings(edit, "t0ken")[0]
    assert message.startswith("Refused: too many wrong admin tokens") and "299 s" in message
    clock.now += 298.5
    assert "another 1 s" in session.save_settings(edit, "guess")[0]
    clock.now += 0.5
    assert session.save_settings(edit, "t0ken")[0].startswith("Saved")


def test_spread_out_wrong_tokens_and_empty_ones_do_not_lock(project, monkeypatch):
    clock = FakeClock()
    limiter = AttemptLimiter(max_failures=3, window_s=60, lockout_s=300, clock=clock)
    session = _session(project, monkeypatch, public=True, token="t0ken", token_limiter=limiter)
    edit = (project / "config.yaml").read_text() + EDIT
    for _ in range(6):
        assert session.save_settings(edit, "guess")[0] == "Refused: wrong or missing admin token."
        assert session.save_settings(edit, "")[0] == "Refused: wrong or missing admin token."
        clock.now += 31  # at most two wrong ones in any 60 s
    assert session.save_settings(edit, "t0ken")[0].startswith("Saved")


def test_the_default_limiter_locks_after_a_few_wrong_tokens(project, monkeypatch):
    session = _session(project, monkeypatch, public=True, token="t0ken")
    edit = (project / "config.yaml").read_text() + EDIT
    messages = [session.save_settings(edit, f"guess{i}")[0] for i in range(20)]
    assert messages[-1].startswith("Refused: too many wrong admin tokens")
    assert messages[0] == "Refused: wrong or missing admin token."


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.org"])
def test_listening_beyond_this_machine_without_public_is_read_only(project, monkeypatch, host):
    session = _session(project, monkeypatch, host=host, token="t0ken")
    assert session.read_only
    before = (project / "config.yaml").read_bytes()
    message, _ = session.save_settings(before.decode() + EDIT, "t0ken")
    assert message.startswith("Refused: Read-only") and host in message and "--public" in message
    assert (project / "config.yaml").read_bytes() == before


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.1.1"])
def test_loopback_hosts_may_save(project, monkeypatch, host):
    assert not _session(project, monkeypatch, host=host).read_only


def test_public_on_all_interfaces_saves_with_the_token(project, monkeypatch):
    session = _session(project, monkeypatch, host="0.0.0.0", public=True, token="t0ken")
    assert not session.read_only
    assert session.save_settings((project / "config.yaml").read_text() + EDIT, "t0ken")[0].startswith("Saved")


def test_ui_command_on_all_interfaces_without_public_is_read_only(project, monkeypatch, trained_model_dir):
    from click.testing import CliRunner

    import captcha_solver.ui.app as ui_app
    from model import cli

    started = {}
    monkeypatch.setattr(ui_app, "build_ui", lambda session: session)
    monkeypatch.setattr(ui_app, "launch", lambda session, **kwargs: started.update(session=session, **kwargs))
    monkeypatch.setenv("CAPTCHA_ADMIN_TOKEN", "")
    args = [
        "--config",
        str(project / "config.yaml"),
        "ui",
        "--no-browser",
        "--model-dir",
        str(trained_model_dir),
    ]
    result = CliRunner().invoke(cli, [*args, "--host", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    assert started["host"] == "0.0.0.0" and started["session"].read_only
    assert "Read-only" in result.output and "--public" in result.output
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert started["host"] == "127.0.0.1" and not started["session"].read_only
