"""The labelling page's logic without Gradio: least sure first, copies named after their text, collisions
kept, bad texts refused, originals untouched, a restart remembers; and the page's handlers."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import cv2
import pytest

from captcha_solver.image_io import PNG_MAGIC, decode_image, label_from_path
from captcha_solver.settings import Config
from captcha_solver.ui._label_desk import RECORD, LabelError, LabelFolder, default_label_dir


def tmp_config(root: Path) -> Config:
    """The default settings with the log and results under ``root`` (never the checkout's)."""
    from captcha_solver.settings import apply_overrides

    return apply_overrides(
        Config(),
        {
            "paths.log_file": str(root / "log_file.log"),
            "paths.results_csv": str(root / "results.csv"),
            "logging.console": False,
            "tracking.wandb_mode": "disabled",
        },
    )


@pytest.fixture(scope="module")
def solver(trained_model_dir, tmp_path_factory):
    from captcha_solver.solver import My_CaptchaSolver_Model

    config = tmp_config(tmp_path_factory.mktemp("label-logs"))
    return My_CaptchaSolver_Model(model_dir=trained_model_dir, config=config, quiet=True).load()


def unlabelled_folder(captcha_dir: Path, root: Path, count: int = 12) -> tuple[Path, dict[str, str]]:
    """``count`` captchas copied as ``u000.png``...: the folder and each name's true text."""
    folder = root / "captchas"
    folder.mkdir()
    truth = {}
    for i, path in enumerate(sorted(captcha_dir.glob("*.png"))[:count]):
        shutil.copyfile(path, folder / f"u{i:03d}.png")
        truth[f"u{i:03d}.png"] = label_from_path(path)
    return folder, truth


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def open_desk(folder, solver, label_dir=None) -> LabelFolder:
    config = Config()
    desk = LabelFolder(
        folder,
        label_dir,
        solver=solver,
        input_settings=config.input,
        max_glyphs=config.segmentation.max_glyphs,
    )
    desk.start_reading()
    assert desk.wait_reading(60)
    return desk


def test_least_sure_first_and_every_captcha_read(captcha_dir, solver, tmp_path):
    folder, truth = unlabelled_folder(captcha_dir, tmp_path)
    desk = open_desk(folder, solver)
    queue = desk.queue()
    assert sorted(r.name for r in queue) == sorted(truth)
    confidences = [r.confidence for r in queue]
    assert confidences == sorted(confidences)
    first = desk.next()
    assert first.confidence == min(confidences)
    # The reading is the model's own.
    assert first.text == solver.read(folder / first.name).text
    assert desk.counts() == {
        "done": 0, "skipped": 0, "unreadable": 0, "left": 12, "read": 12, "to_read": 12, "total": 12
    }  # fmt: skip


def test_answers_are_copies_collisions_keep_both_and_originals_are_untouched(captcha_dir, solver, tmp_path):
    folder, truth = unlabelled_folder(captcha_dir, tmp_path)
    # A JPEG among them: its copy is a PNG of the same picture.
    rgb = decode_image(folder / "u011.png")
    (folder / "u011.png").unlink()
    cv2.imwrite(
        str(folder / "u011.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95]
    )
    before = digest(folder)
    desk = open_desk(folder, solver)
    assert desk.label_dir == default_label_dir(folder) == folder.resolve().parent / "captchas-labelled"

    saved = desk.answer("u000.png", truth["u000.png"])
    assert saved == desk.label_dir / "labelled" / f"{truth['u000.png']}.png"
    assert saved.read_bytes() == (folder / "u000.png").read_bytes()
    # The same text twice (and once in another letter case): every copy kept, each named by its text.
    text = truth["u001.png"]
    assert desk.answer("u001.png", text) == desk.label_dir / "labelled" / f"{text}.png"
    assert desk.answer("u002.png", text) == desk.label_dir / "labelled-2" / f"{text}.png"
    assert (
        desk.answer("u003.png", text.swapcase()) == desk.label_dir / "labelled-3" / f"{text.swapcase()}.png"
    )
    for copy in (
        desk.label_dir / "labelled-2" / f"{text}.png",
        desk.label_dir / "labelled-3" / f"{text.swapcase()}.png",
    ):
        assert label_from_path(copy) in (text, text.swapcase())
    assert (desk.label_dir / "labelled-2" / f"{text}.png").read_bytes() == (folder / "u002.png").read_bytes()

    jpeg = desk.answer("u011.jpg", truth["u011.png"])
    assert jpeg.suffix == ".png" and jpeg.read_bytes().startswith(PNG_MAGIC)
    assert decode_image(jpeg).shape == rgb.shape

    desk.skip("u004.png")
    assert desk.next().name != "u004.png" and "u004.png" not in {r.name for r in desk.queue()}
    counts = desk.counts()
    assert (counts["done"], counts["skipped"], counts["left"]) == (5, 1, 6)
    with pytest.raises(LabelError, match="already labelled"):
        desk.answer("u000.png", truth["u000.png"])
    assert digest(folder) == before  # nothing moved, renamed, changed or deleted
    assert not list(desk.label_dir.rglob(".*.tmp"))
    record = json.loads((desk.label_dir / RECORD).read_text())
    assert record["u002.png"] == f"labelled-2/{text}.png" and len(record) == 5


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("ab/c", "is not a label"),
        ("../x", "is not a label"),
        ("a b", "is not a label"),
        ("ab\u00e9", "is not a label"),
        ("a" * 40, "over segmentation.max_glyphs"),
        ("abz", "does not read: 'z'"),
    ],
)
def test_bad_texts_are_refused_and_nothing_is_written(captcha_dir, solver, tmp_path, text, why):
    folder, _ = unlabelled_folder(captcha_dir, tmp_path, count=2)
    desk = open_desk(folder, solver)
    # A model that reads only these characters (the real one reads every letter and digit).
    desk.solver = SimpleNamespace(charset="abc123", read=solver.read)
    with pytest.raises(LabelError, match="Refused") as refused:
        desk.answer("u000.png", text)
    assert why in str(refused.value)
    assert not desk.label_dir.exists()
    assert desk.counts()["done"] == 0


def test_a_restart_remembers_what_is_labelled(captcha_dir, solver, tmp_path):
    folder, truth = unlabelled_folder(captcha_dir, tmp_path)
    desk = open_desk(folder, solver)
    first = desk.next().name
    second, skipped = [n for n in sorted(truth) if n != first][:2]
    desk.answer(first, truth[first])
    desk.answer(second, truth[second])
    desk.skip(skipped)  # a skip is for this sitting only

    again = open_desk(folder, solver)
    assert again.done == {
        first: f"labelled/{truth[first]}.png",
        second: f"labelled/{truth[second]}.png",
    }
    names = {r.name for r in again.queue()}
    assert first not in names and second not in names and skipped in names
    assert again.counts()["done"] == 2 and again.counts()["left"] == 10
    # A named labelled folder is used as it is (here inside another folder of the user's).
    named = open_desk(folder, solver, tmp_path / "mine" / "answers")
    assert named.label_dir == tmp_path / "mine" / "answers" and named.counts()["done"] == 0


def test_folders_that_cannot_be_labelled_are_named(captcha_dir, solver, tmp_path):
    config = Config()

    def make(folder, label_dir=None):
        return LabelFolder(folder, label_dir, solver=solver, input_settings=config.input)

    with pytest.raises(LabelError, match=f"folder not found: {tmp_path / 'nope'}"):
        make(tmp_path / "nope")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(LabelError, match=f"{tmp_path / 'file.png'} is a file"):
        make(tmp_path / "file.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LabelError, match="empty"):
        make(tmp_path / "empty")
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "notes.txt").write_text("x")
    with pytest.raises(LabelError, match="holds no image"):
        make(tmp_path / "texts")
    folder, _ = unlabelled_folder(captcha_dir, tmp_path, count=2)
    with pytest.raises(LabelError, match=f"labelled folder {tmp_path / 'file.png'} is a file"):
        make(folder, tmp_path / "file.png")
    default_label_dir(folder).mkdir()
    (default_label_dir(folder) / RECORD).write_text("{broken")
    with pytest.raises(LabelError, match=f"{default_label_dir(folder) / RECORD} cannot be read as JSON"):
        make(folder)


def test_an_unreadable_captcha_is_listed_not_offered(captcha_dir, solver, tmp_path):
    folder, _ = unlabelled_folder(captcha_dir, tmp_path, count=3)
    (folder / "broken.png").write_bytes(PNG_MAGIC + b"not really")
    desk = open_desk(folder, solver)
    assert [r.name for r in desk.unreadable()] == ["broken.png"]
    assert "broken.png" in desk.unreadable()[0].error
    assert "broken.png" not in {r.name for r in desk.queue()}
    assert desk.counts()["unreadable"] == 1 and desk.counts()["left"] == 3


def test_the_page_handlers_label_and_follow_the_access_rule(
    captcha_dir, trained_model_dir, tmp_path, monkeypatch
):
    from captcha_solver.ui._label_page import LabelBench
    from captcha_solver.ui.app import SolverSession

    folder, truth = unlabelled_folder(captcha_dir, tmp_path, count=4)
    monkeypatch.delenv("CAPTCHA_SOLVER_PUBLIC", raising=False)
    config = tmp_config(tmp_path)
    config_path = tmp_path / "config.yaml"
    monkeypatch.setenv(config.serving.admin_token_env, "")
    desktop = LabelBench(SolverSession(config, config_path, model_dir=trained_model_dir))
    state, rgb, text, current, counts, reading = desktop.open("", str(folder))
    assert not reading and rgb is not None and state["name"] in truth
    assert text == desktop.session.solver.read(folder / state["name"]).text
    assert "0 done, 4 left" in counts
    # A refused text keeps the captcha and what was typed.
    again = desktop.accept("", state, "no/slash")
    assert again[0]["name"] == state["name"] and again[2] == "no/slash" and "Refused" in again[3]
    state2, *_, counts2, _ = desktop.accept("", state, truth[state["name"]])
    assert state2["name"] != state["name"] and "1 done, 3 left" in counts2
    state3, *_, counts3, _ = desktop.skip(state2)
    assert "1 done, 2 left**, 1 skipped" in counts3 and state3["name"] not in (state["name"], state2["name"])
    assert (default_label_dir(folder) / "labelled" / f"{truth[state['name']]}.png").is_file()
    # Opened again: the readings come from the cache (the same files, the same model), not the model.
    assert len(desktop.cache) == 4
    calls = []
    monkeypatch.setattr(desktop.session.solver, "read", lambda *a, **k: calls.append(a))
    reopened = desktop.open("", str(folder))
    assert calls == [] and "1 done, 3 left" in reopened[4]

    # A public page without the admin token neither opens a folder nor trains.
    public = LabelBench(SolverSession(config, config_path, model_dir=trained_model_dir, public=True))
    refused = public.open("", str(folder))
    assert (
        refused[0] == {} and refused[3].startswith("Refused") and config.serving.admin_token_env in refused[3]
    )
    assert public.train("", state3).startswith("Refused")
    monkeypatch.setenv(config.serving.admin_token_env, "t0ken")
    guarded = LabelBench(SolverSession(config, config_path, model_dir=trained_model_dir, public=True))
    assert "wrong or missing admin token" in guarded.open("nope", str(folder))[3]
    assert guarded.open("t0ken", str(folder))[0]["name"]
