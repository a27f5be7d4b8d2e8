"""``models list | show | promote [--gate] | rollback | compare`` on a SQLite registry with versions 1-3."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from captcha_solver.cli import cli
from captcha_solver.registry import HISTORY_TAG, Registry


def _run(path, *args):
    return CliRunner().invoke(cli, ["--config", str(path), "models", *args])


def test_three_versions_carry_their_metrics(populated):
    root, config, path = populated
    registry = Registry(config.registry)
    versions = registry.versions()
    assert [v.version for v in versions] == [1, 2, 3]
    assert registry.aliases() == {"champion": 1, "challenger": 3}
    from captcha_solver.artifacts import load_manifest

    for info, folder in zip(versions[:2], [root / "model1", root / "model2"]):
        metrics = load_manifest(folder).metrics
        assert float(info.tags["metric.val_char"]) == pytest.approx(metrics["val_char"], rel=1e-5)
        assert info.tags["metric.train_captchas"] == str(metrics["train_captchas"])
    for info in versions:
        assert len(info.tags["training_data_sha256"]) == 64
        assert len(info.tags["manifest_sha256"]) == 64
        assert "readers" in json.loads(info.tags["plan"])
    # Different data, different hashes; the training run's figures are on its MLflow run too.
    assert versions[0].tags["training_data_sha256"] != versions[1].tags["training_data_sha256"]
    run = registry.client.get_run(versions[0].run_id)
    assert run.data.metrics["val_exact"] == float(versions[0].tags["metric.val_exact"])
    listed = _run(path, "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[1].split()[:2] == ["1", "champion"] and lines[3].split()[:2] == ["3", "challenger"]
    shown = _run(path, "show", "2")
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.output)
    assert doc["model"] == "models:/captcha-solver/2" and doc["aliases"] == []
    assert doc["tags"]["training_images"] == "20"
    missing = _run(path, "show", "9")
    assert missing.exit_code == 1 and "version 9 of model 'captcha-solver'" in missing.output


def test_promote_gate_rollback_and_compare(populated):
    root, config, path = populated
    registry = Registry(config.registry)
    gate = root / "gate"
    # The shipped model (3) reads the fresh folder better than the 20-captcha model 1.
    compared = _run(path, "compare", "1", "3", "--dataset", str(gate), "--json-out", str(root / "cmp.json"))
    assert compared.exit_code == 0, compared.output
    summary = json.loads((root / "cmp.json").read_text())
    assert summary["a"]["model"] == "models:/captcha-solver/1" and summary["b"]["n"] == 30
    assert summary["b"]["correct"] > summary["a"]["correct"]
    low, high = summary["a"]["ci95"]
    assert low <= summary["a"]["exact_accuracy"] <= high
    assert summary["differ"] == len(summary["differences"]) > 0
    assert set(summary["only_b_right"]) <= {d["file"] for d in summary["differences"]}
    assert f"{summary['differ']} of 30 captchas read differently" in compared.output
    first = summary["differences"][0]
    assert first["file"] in compared.output

    promoted = _run(path, "promote", "3", "--gate", str(gate))
    assert promoted.exit_code == 0, promoted.output
    assert registry.aliases() == {"champion": 3}  # the challenger became champion
    refused = _run(path, "promote", "1", "--gate", str(gate))
    assert refused.exit_code == 1 and "promotion refused: version 1 reads" in refused.output
    assert registry.aliases()["champion"] == 3
    assert _run(path, "promote", "2").exit_code == 0  # no gate: promoted
    assert registry.history() == [1, 3, 2]
    assert json.loads(registry.client.get_registered_model("captcha-solver").tags[HISTORY_TAG]) == [1, 3, 2]
    back = _run(path, "rollback")
    assert back.exit_code == 0 and "champion: version 3 (was 2)" in back.output
    assert _run(path, "rollback").exit_code == 0 and registry.aliases()["champion"] == 1
    none_left = _run(path, "rollback")
    assert none_left.exit_code == 1 and "no previous champion" in none_left.output
    assert registry.aliases()["champion"] == 1


def test_predict_and_evaluate_take_a_reference(populated):
    root, config, path = populated
    image = sorted((root / "gate").iterdir())[0]
    out = CliRunner().invoke(
        cli, ["--config", str(path), "predict", "--model", "models:/captcha-solver/3", "--image", str(image)]
    )
    assert out.exit_code == 0, out.output
    assert out.output.startswith(f"{image.name}\t{image.stem}\t")
    report = CliRunner().invoke(
        cli, ["--config", str(path), "evaluate", "--model", "3", "--dataset", str(root / "gate")]
    )
    assert report.exit_code == 0, report.output
    assert json.loads(report.output[report.output.index("{") :])["n"] == 30
    both = CliRunner().invoke(
        cli, ["--config", str(path), "predict", "--model", "3", "--model-dir", "x", "--image", str(image)]
    )
    assert both.exit_code == 2 and "not both" in both.output
    unknown = CliRunner().invoke(
        cli, ["--config", str(path), "predict", "--model", "models:/nope@champion", "--image", str(image)]
    )
    assert unknown.exit_code == 1 and "models:/nope@champion" in unknown.output
