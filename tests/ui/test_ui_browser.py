"""The UI in headless Chromium: upload a captcha and read the answer; change a setting; refusals."""

from __future__ import annotations

import pytest

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def desktop_ui(start_ui):
    return start_ui()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def _value(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first.input_value()


def _replace_editor_text(page, text: str) -> None:
    editor = page.locator("#config-editor .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    # insert_text types no keys, so CodeMirror's auto-indent cannot alter the YAML.
    page.keyboard.insert_text(text)


def test_upload_a_captcha_and_read_the_answer(desktop_ui, page, captcha_dir, trained_model_dir, tmp_path):
    from captcha_solver.solver import My_CaptchaSolver_Model

    path = min(captcha_dir.glob("*.png"))
    solver = My_CaptchaSolver_Model(model_dir=trained_model_dir, config=desktop_ui.config, quiet=True)
    expected = solver.predict_row(path, log_result=False)["prediction"]
    assert expected  # the model reads this training captcha
    page.goto(desktop_ui.url)
    page.locator("#captcha-input input[type=file]").set_input_files(str(path))
    page.wait_for_function(
        "() => { const e = document.querySelector('#answer textarea, #answer input'); return e && e.value !== ''; }"
    )
    assert _value(page, "answer") == expected
    assert 0.0 < float(_value(page, "confidence")) <= 1.0
    # The segmentation picture is shown, and the table lists one row per character.
    page.locator("#segmentation img").wait_for()
    details = page.locator("#details").inner_text()
    assert all(char in details for char in expected)
    page.screenshot(path=str(tmp_path / "predict.png"), full_page=True)


def test_change_a_setting_and_refuse_a_bad_one(desktop_ui, page):
    page.goto(desktop_ui.url)
    page.get_by_role("tab", name="Settings").click()
    page.locator("#config-editor .cm-content").wait_for()
    original = desktop_ui.config.read_text(encoding="utf-8")
    assert "results_csv" in page.locator("#config-editor .cm-content").inner_text()

    _replace_editor_text(page, original + "serving:\n  max_batch: 7\n")
    page.locator("#save-button").click()
    page.get_by_text("model reloaded").wait_for()
    saved = desktop_ui.config.read_text(encoding="utf-8")
    assert "max_batch: 7" in saved
    # The saved file is the commented, complete config.
    assert "# Most images in one /predict/batch request." in saved

    _replace_editor_text(page, saved.replace("threshold_ratio: 0.6", "threshold_ratio: 7"))
    page.locator("#save-button").click()
    page.get_by_text("Refused").wait_for()
    status = page.locator("#settings-status").inner_text()
    assert "segmentation.threshold_ratio" in status and "(0, 1)" in status
    assert desktop_ui.config.read_text(encoding="utf-8") == saved


def test_public_ui_without_token_is_read_only(start_ui, page):
    public = start_ui(public=True)
    page.goto(public.url)
    page.get_by_role("tab", name="Settings").click()
    page.get_by_text("Read-only").wait_for()
    assert page.locator("#save-button").is_disabled()


def test_public_ui_needs_the_admin_token(start_ui, page):
    public = start_ui(public=True, env={"CAPTCHA_ADMIN_TOKEN": "t0ken"})
    before = public.config.read_text(encoding="utf-8")
    page.goto(public.url)
    page.get_by_role("tab", name="Settings").click()
    page.locator("#config-editor .cm-content").wait_for()
    _replace_editor_text(page, before + "serving:\n  max_batch: 5\n")
    page.locator("#save-button").click()
    page.get_by_text("wrong or missing admin token").wait_for()
    assert public.config.read_text(encoding="utf-8") == before
    page.locator("#admin-token input").fill("t0ken")
    page.locator("#save-button").click()
    page.get_by_text("model reloaded").wait_for()
    assert "max_batch: 5" in public.config.read_text(encoding="utf-8")


def test_click_an_example_and_see_its_reading(desktop_ui, page, trained_model_dir, tmp_path):
    from captcha_solver.settings import Config
    from captcha_solver.solver import My_CaptchaSolver_Model
    from captcha_solver.ui._examples import make_examples

    # The UI draws its examples from ui.examples_seed: the same seed draws the same captchas here.
    config = Config()
    (first, _), *_ = make_examples(tmp_path, config.ui.examples, config.ui.examples_seed)
    solver = My_CaptchaSolver_Model(model_dir=trained_model_dir, config=desktop_ui.config, quiet=True)
    expected = solver.predict_row(first, log_result=False)["prediction"]
    page.goto(desktop_ui.url)
    examples = page.locator("#examples button.gallery-item")
    examples.first.wait_for()
    assert examples.count() == config.ui.examples
    examples.first.click()
    page.wait_for_function(
        "() => { const e = document.querySelector('#answer textarea, #answer input'); return e && e.value !== ''; }"
    )
    assert _value(page, "answer") == expected
    page.locator("#segmentation img").wait_for()


def test_records_page_shows_the_log_and_the_results(desktop_ui, page, captcha_dir):
    page.goto(desktop_ui.url)
    # One reading, so that the results CSV and the log have something in them.
    page.locator("#captcha-input input[type=file]").set_input_files(str(min(captcha_dir.glob("*.png"))))
    page.wait_for_function(
        "() => { const e = document.querySelector('#answer textarea, #answer input'); return e && e.value !== ''; }"
    )
    page.get_by_role("tab", name="Records").click()
    page.get_by_role("tab", name="Results").click()
    page.locator("#results-show").click()
    page.locator("#results-message").get_by_text("row(s) of").wait_for()
    assert min(captcha_dir.glob("*.png")).name in page.locator("#results-table").inner_text()
    page.locator("#results-download a").first.wait_for()
    page.get_by_role("tab", name="Log").click()
    page.locator("#log-show").click()
    page.locator("#log-message").get_by_text("record(s) of").wait_for()
    page.get_by_role("tab", name="Monitoring").click()
    page.locator("#monitor-refresh").click()
    page.locator("#monitor-summary").get_by_text("no API or metrics server is needed").wait_for()


def test_public_records_page_needs_the_token(start_ui, page):
    public = start_ui(public=True)
    page.goto(public.url)
    page.get_by_role("tab", name="Records").click()
    page.get_by_role("tab", name="Log").click()
    page.locator("#log-show").click()
    page.locator("#log-message").get_by_text("Refused").wait_for()


# ------------------------------------------------------------------ the labelling page
def _label_counts(page) -> str:
    return page.locator("#label-counts").inner_text()


def test_label_twenty_captchas_by_keyboard_alone(desktop_ui, page, captcha_dir, tmp_path):
    import hashlib
    import json
    import re
    import shutil

    from captcha_solver.image_io import label_from_path

    source = tmp_path / "site-captchas"
    source.mkdir()
    truth = {}
    for i, path in enumerate(sorted(captcha_dir.glob("*.png"))[:24]):
        shutil.copyfile(path, source / f"c{i:03d}.png")
        truth[f"c{i:03d}.png"] = label_from_path(path)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in source.iterdir()}

    page.goto(desktop_ui.url)
    page.get_by_role("tab", name="Label").click()
    page.locator("#label-folder input, #label-folder textarea").first.fill(str(source))
    page.keyboard.press("Enter")  # Enter in the folder box opens it
    page.locator("#label-counts").get_by_text("0 done, 24 left").wait_for()
    expected, skipped = {}, set()
    for step in range(20):
        current = page.locator("#label-current").inner_text()
        name = re.search(r"(c\d{3}\.png): the model reads", current).group(1)
        box = page.locator("#label-text input, #label-text textarea").first
        reading = box.input_value()
        counts = _label_counts(page)
        # The answer box has focus: every action below is a key press.
        if step % 7 == 3:
            page.keyboard.press("Escape")
            skipped.add(name)
        elif step % 4 == 0 and reading:
            page.keyboard.press("Enter")  # the model's reading, as it is
            expected[name] = reading
        else:
            page.keyboard.press("Control+A")
            page.keyboard.type(truth[name])
            page.keyboard.press("Enter")
            expected[name] = truth[name]
        page.wait_for_function(
            "([old, name]) => document.querySelector('#label-counts').innerText !== old"
            " && !document.querySelector('#label-current').innerText.includes(name + ': the model reads')",
            arg=[counts, name],
        )
        shown = re.search(r"(c\d{3}\.png): the model reads", page.locator("#label-current").inner_text())
        assert shown and shown.group(1) != name  # the next captcha is shown
    assert len(skipped) == 3 and len(expected) == 17
    assert "17 done, 4 left" in _label_counts(page) and "3 skipped" in _label_counts(page)

    labelled = source.parent / "site-captchas-labelled"
    record = json.loads((labelled / "labels.json").read_text())
    assert set(record) == set(expected)
    copies = sorted(labelled.glob("labelled*/*.png"))
    assert len(copies) == 17
    for name, text in expected.items():
        copy = labelled / record[name]
        assert label_from_path(copy) == text
        assert copy.read_bytes() == (source / name).read_bytes()
    # The originals: none moved, renamed, changed or deleted.
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in source.iterdir()} == before
