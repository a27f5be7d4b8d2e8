"""Training both readers, fusing their evidence per captcha, and the model the trainer publishes."""

import numpy as np
import pytest

from captcha_solver.artifacts import CorruptModelError, Manifest, NeuralRecord, load_manifest
from captcha_solver.solver import My_CaptchaSolver_Model

pytest.importorskip("torch", reason="training the neural reader needs torch (the 'train' extra)")

#: Every "from the data" neural setting fixed, for calling the neural trainer directly.
RESOLVED = {
    "neural.height": 32,
    "neural.frame_stride": 2,
    "neural.channels": "8,16,16,24",
    "neural.stem": "pool",
    "neural.batch_size": 32,
    "neural.weight_decay": 0.0001,
    "neural.dropout": 0.1,
    "neural.patience": 5,
    "neural.splice": 0.0,
    "training.validation_fraction": 0.2,
}


@pytest.fixture(scope="module")
def hybrid_dir(captcha_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("hybrid")
    solver = My_CaptchaSolver_Model(
        model_dir=root / "model",
        overrides={
            "classifier.candidates": ["logreg"],
            "neural.epochs": 2,
            "neural.channels": "8,16,16,24",
            "paths.log_file": str(root / "log.log"),
            "tracking.wandb_mode": "disabled",
            "logging.console": False,
        },
        results_csv=root / "results.csv",
    )
    solver.train(captcha_dir, reader="auto", progress=False)
    return root / "model"


def _solver(model_dir, tmp_path, reader, **extra):
    overrides = {
        "routing.reader": reader,
        "logging.console": False,
        "paths.log_file": str(tmp_path / "l.log"),
        **extra,
    }
    return My_CaptchaSolver_Model(
        model_dir=model_dir, overrides=overrides, results_csv=tmp_path / "r.csv"
    ).load()


def test_auto_model_holds_both_readers_and_records_its_plan(hybrid_dir):
    manifest = load_manifest(hybrid_dir)
    assert manifest["reader"] == "auto"
    assert {"glyph_classifier.onnx", "neural_reader.onnx", "neural_reader.json"} == set(manifest["artifacts"])
    assert "metrics" in manifest["neural"]
    plan = manifest["plan"]
    assert plan["readers"] == ["classical", "neural"]
    assert "plain segmentation splits" in plan["reasons"]["classical"]
    assert plan["chosen"]["neural.height"] == 32 and plan["chosen"]["neural.epochs"] == 2
    assert plan["survey"]["images"] == 160 and "neural.max_minutes" in plan["chosen"]
    assert sum(manifest["labels"]["lengths"].values()) == 160


def test_the_published_model_was_read_back_through_predicts_path(hybrid_dir):
    manifest = load_manifest(hybrid_dir)
    verified = manifest["verified"]
    assert verified["n"] == manifest["fusion"]["n"] == manifest["neural"]["metrics"]["n_val"]
    assert verified["val_exact"] >= verified["in_training"] - 1 / verified["n"]
    assert verified["in_training"] == manifest["metrics"]["val_exact"] == manifest["fusion"]["val_exact"]


def test_readers_answer_by_route_and_the_fusion_names_itself(hybrid_dir, captcha_dir, tmp_path):
    image = sorted(captcha_dir.glob("*.png"))[0]
    assert _solver(hybrid_dir, tmp_path, "classical").predict_row(image)["reader"] == "classical"
    neural = _solver(hybrid_dir, tmp_path, "neural", **{"routing.topk": 3}).predict_row(image)
    assert neural["reader"] == "neural" and len(neural["topk"]) <= 3
    # auto: a confident, plausible classical reading is kept; with an
    # impossible confidence bar every captcha is fused.
    strict = _solver(hybrid_dir, tmp_path, "auto", **{"routing.min_confidence": 1.0})
    rows = [strict.predict_row(p) for p in sorted(captcha_dir.glob("*.png"))[:5]]
    assert all(r["reader"] == "fused" for r in rows if r["confidence"] < 1.0)
    assert all(0.0 <= r["confidence"] <= 1.0 for r in rows)
    lenient = _solver(hybrid_dir, tmp_path, "auto", **{"routing.min_confidence": 0.0})
    assert lenient.predict_row(image)["reader"] == "classical"


def test_fused_topk_are_ranked_probabilities(hybrid_dir, captcha_dir, tmp_path):
    solver = _solver(hybrid_dir, tmp_path, "auto", **{"routing.topk": 3, "routing.min_confidence": 1.0})
    for path in sorted(captcha_dir.glob("*.png"))[:3]:
        row = solver.predict_row(path)
        probs = [p for _, p in row["topk"]]
        assert 1 <= len(probs) <= 3 and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-9
        assert row["prediction"] == row["topk"][0][0]


def test_every_reading_has_a_length_the_labels_had(hybrid_dir, captcha_dir, tmp_path):
    lengths = {int(n) for n in load_manifest(hybrid_dir)["labels"]["lengths"]}
    for route in ("neural", "auto"):
        solver = _solver(hybrid_dir, tmp_path, route, **{"routing.min_confidence": 1.0})
        texts = [solver.predict_row(p)["prediction"] for p in sorted(captcha_dir.glob("*.png"))[:8]]
        assert all(len(t) in lengths for t in texts if t), (route, texts)


def test_classical_reading_of_an_impossible_length_is_no_answer(hybrid_dir, captcha_dir):
    from captcha_solver.image_io import decode_image
    from captcha_solver.inference import Model, ReadPolicy, read_routed
    from captcha_solver.settings import Config

    manifest = load_manifest(hybrid_dir)
    reader = Model.load(hybrid_dir, Config()).classical
    rgb = decode_image(sorted(captcha_dir.glob("*.png"))[0])
    route = Config().routing
    normal = read_routed(reader, None, rgb, route, ReadPolicy.from_manifest(manifest))
    never = read_routed(reader, None, rgb, route, ReadPolicy(lengths=frozenset({42})))
    assert normal.confidence > 0 and never.text == normal.text and never.confidence == 0.0


def test_auto_training_fits_and_records_the_fusion(hybrid_dir, tmp_path):
    manifest = load_manifest(hybrid_dir)
    fusion = manifest["fusion"]
    assert 0.3 <= fusion["min_confidence"] <= 1.01
    lo, hi = fusion["best_range"]
    assert lo <= fusion["min_confidence"] <= hi
    assert 0.0 <= fusion["weight_classical"] <= 1.0 and fusion["temperature"] > 0
    # Fitted on the validation split both readers held out.
    assert fusion["n"] == manifest["neural"]["metrics"]["n_val"] == manifest["metrics"]["val_captchas"]
    assert 0.0 <= fusion["val_exact"] <= 1.0 and 0.0 <= fusion["neural_share"] <= 1.0
    assert 0.0 <= manifest["metrics"]["val_ece"] <= 1.0
    # config -1 (the default) takes the model's threshold; a value >= 0 overrides it.
    assert (
        _solver(hybrid_dir, tmp_path, "auto").load().model_.policy.min_confidence == fusion["min_confidence"]
    )
    strict = _solver(hybrid_dir, tmp_path, "auto", **{"routing.min_confidence": 0.42}).load()
    assert strict.model_.policy.min_confidence == 0.42


def test_tune_fusion_rewrites_only_the_manifest(hybrid_dir, captcha_dir, tmp_path):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(hybrid_dir, model)
    before = load_manifest(model)
    solver = _solver(model, tmp_path, "auto")
    picked = solver.tune_fusion(captcha_dir, progress=False)
    after = load_manifest(model)  # still passes every sha256 check
    assert after["fusion"] == picked and picked["dataset"] == str(captcha_dir)
    assert picked["n"] == len(list(captcha_dir.glob("*.png")))
    assert after["artifacts"] == before["artifacts"]
    assert solver.model_.policy.min_confidence == picked["min_confidence"]
    # The side bearings came from the training captchas: a refit on other ones keeps them.
    assert after["fusion"]["spacing"] == before["fusion"]["spacing"]


def test_training_fits_side_bearings_and_reading_weighs_them(hybrid_dir, captcha_dir, tmp_path):
    manifest = load_manifest(hybrid_dir)
    spacing = manifest["fusion"]["spacing"]
    assert spacing["charset"] == manifest["charset"] and spacing["n_gaps"] >= 200
    assert manifest["fusion"]["spacing_weight"] == 0.25  # the config's, which the weights were fitted with
    images = sorted(captcha_dir.glob("*.png"))[:12]
    # Spacing off: no spacing evidence; on: every candidate of a length is scored against that length's best.
    off = _solver(hybrid_dir, tmp_path, "auto", **{"routing.spacing_weight": 0}).load().model_
    assert off.policy.bearings is not None and off.evidence(off.decode(images[0]))[5] is None
    weighed = {"routing.spacing_weight": 5, "routing.min_confidence": 1.0}  # (almost) every captcha fused
    on = _solver(hybrid_dir, tmp_path, "auto", **weighed).load()
    from captcha_solver.fusion import fused_scores

    fused = 0
    for image in images:
        _, _, candidates, f_neural, f_classical, rel = on.model_.evidence(on.model_.decode(image))
        assert rel is not None and len(rel) == len(candidates)
        for n in {len(c) for c in candidates}:
            assert max(r for c, r in zip(candidates, rel) if len(c) == n) == 0.0
        row = on.predict_row(image)
        if row["reader"] == "fused":  # the best of the weighted sum with the spacing added
            scores = fused_scores(f_neural, f_classical, on.model_.policy.weight_classical) + 5 * rel
            assert row["prediction"] == candidates[int(np.argmax(scores))]
            fused += 1
    assert fused >= 6


def test_fit_bearings_gives_an_older_model_its_table_and_keeps_the_rest(hybrid_dir, captcha_dir, tmp_path):
    import shutil

    from click.testing import CliRunner

    from captcha_solver.artifacts import update_manifest
    from captcha_solver.cli import cli

    model = tmp_path / "model"
    shutil.copytree(hybrid_dir, model)
    fusion = {k: v for k, v in load_manifest(model)["fusion"].items() if k != "spacing"}
    before = update_manifest(model, {"fusion": fusion})  # as trained before bearings were fitted
    assert _solver(model, tmp_path, "auto").load().model_.policy.bearings is None
    sets = ["--set", "logging.console=false", "--set", f"paths.log_file={tmp_path / 'l.log'}"]
    result = CliRunner().invoke(
        cli, [*sets, "fit-bearings", "--dataset", str(captcha_dir), "--model-dir", str(model)]
    )
    assert result.exit_code == 0, result.output
    after = load_manifest(model)  # still passes every sha256 check
    assert after["artifacts"] == before["artifacts"]
    assert {k: v for k, v in after["fusion"].items() if k != "spacing"} == fusion
    assert f"fitted on {after['fusion']['spacing']['n_gaps']} gaps" in result.output
    assert _solver(model, tmp_path, "auto").load().model_.policy.bearings is not None

    # Too few plainly segmented captchas: a clear error naming the folder, the manifest untouched.
    few = tmp_path / "few"
    few.mkdir()
    for p in sorted(captcha_dir.glob("*.png"))[:3]:
        shutil.copy(p, few / p.name)
    result = CliRunner().invoke(
        cli, [*sets, "fit-bearings", "--dataset", str(few), "--model-dir", str(model)]
    )
    assert result.exit_code != 0 and f"{few}: too few plainly segmented captchas" in result.output
    assert load_manifest(model)["fusion"] == after["fusion"]


def test_a_malformed_bearing_table_is_a_clear_error(hybrid_dir, tmp_path):
    import shutil

    from captcha_solver.artifacts import update_manifest

    model = tmp_path / "model"
    shutil.copytree(hybrid_dir, model)
    fusion = load_manifest(model)["fusion"]
    update_manifest(model, {"fusion": {**fusion, "spacing": {**fusion["spacing"], "left": [0.1]}}})
    with pytest.raises(
        CorruptModelError, match=f"model in {model} is corrupt: spacing.left: 1 values for a charset"
    ):
        _solver(model, tmp_path, "auto").load()


def test_tune_routing_needs_both_readers(trained_model_dir, captcha_dir, tmp_path):
    solver = _solver(trained_model_dir, tmp_path, "auto")
    with pytest.raises(ValueError, match="needs both readers"):
        solver.tune_fusion(captcha_dir, progress=False)


def test_neural_only_model(captcha_dir, tmp_path):
    solver = My_CaptchaSolver_Model(
        model_dir=tmp_path / "model",
        overrides={
            "neural.epochs": 1,
            "neural.height": 32,
            "neural.frame_stride": 4,
            "neural.augment_geometry": False,
            "neural.channels": "8,16,16,24",
            "neural.learning_rate": 0.003,
            "neural.stem": "strided",
            "neural.weight_decay": 0.01,
            "neural.dropout": 0.2,
            "paths.log_file": str(tmp_path / "l.log"),
            "logging.console": False,
            "tracking.wandb_mode": "disabled",
        },
        results_csv=tmp_path / "r.csv",
    )
    solver.train(captcha_dir, reader="neural", progress=False)
    manifest = load_manifest(tmp_path / "model")
    assert set(manifest["artifacts"]) == {"neural_reader.onnx", "neural_reader.json"}
    assert [h["epoch"] for h in manifest["neural"]["history"]] == [1]
    assert "fusion" not in manifest  # one reader: nothing to fuse
    assert not any((tmp_path / "neural-runs").iterdir())  # a finished run leaves no checkpoint behind
    import json

    # The neural settings of config.yaml reach the network: its architecture record is stored with
    # it (and nothing of the schedule), the training settings with the run's config in the manifest.
    meta = json.loads((tmp_path / "model" / "neural_reader.json").read_text())
    assert meta["format"] == "neural_reader/2"
    assert meta["config"]["frame_stride"] == 4 and meta["config"]["channels"] == [8, 16, 16, 24]
    assert meta["config"]["stem"] == "strided"
    assert not {"lr", "weight_decay", "dropout", "aug_affine", "epochs"} & set(meta["config"])
    neural = manifest["config"]["neural"]
    assert neural["augment_geometry"] is False and neural["learning_rate"] == 0.003
    assert neural["weight_decay"] == 0.01 and neural["dropout"] == 0.2
    row = solver.predict_row(np.zeros((300, 720, 3), np.uint8) + 20)
    assert row["reader"] in ("neural", "")  # a blank picture may read as nothing, but never crashes
    from captcha_solver.training import record_bearings

    with pytest.raises(ValueError, match="side bearings need the classical reader"):
        record_bearings(solver.model_, captcha_dir, logger=solver.logger)


def test_tracking_logs_every_neural_epoch(monkeypatch, tmp_path):
    import logging

    import captcha_solver.tracking as tracking
    from captcha_solver.settings import Config
    from captcha_solver.training import track as _track

    logged = []

    class FakeRun:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def log(self, metrics):
            logged.append(dict(metrics))

        def summary(self, values):
            pass

        def log_artifact(self, *args, **kwargs):
            pass

    monkeypatch.setattr(tracking, "start_run", lambda *a, **k: FakeRun())
    manifest = Manifest(
        reader="neural",
        config={},
        training_seconds=1.0,
        metrics={"val_exact": 0.5},
        neural=NeuralRecord(
            metrics={"val_exact": 0.5},
            history=[
                {"epoch": 1, "loss": 2.0, "val_exact": 0.1},
                {"epoch": 2, "loss": 1.0, "val_exact": 0.5},
            ],
        ),
    )
    _track(Config(), manifest, tmp_path, logging.getLogger("test"))
    epochs = [m for m in logged if "neural_epoch/epoch" in m]
    assert [m["neural_epoch/loss"] for m in epochs] == [2.0, 1.0]
    assert any(m.get("val/val_exact") == 0.5 for m in logged)


def test_a_killed_neural_training_resumes(captcha_dir, tmp_path):
    from captcha_solver.image_io import list_images, split_dataset
    from captcha_solver.training import train_neural_reader

    def run(epochs):
        solver = My_CaptchaSolver_Model(
            model_dir=tmp_path / "model",
            overrides={
                "neural.epochs": epochs,
                **RESOLVED,
                "paths.log_file": str(tmp_path / "l.log"),
                "paths.results_csv": str(tmp_path / "data" / "results.csv"),
                "logging.console": False,
            },
        )
        return train_neural_reader(
            train,
            val,
            solver.config,
            work_dir=solver.results_csv.parent,
            logger=solver.logger,
            progress=False,
        )

    train, val = split_dataset([str(p) for p in list_images(captcha_dir)[0]], 0.2, 0)
    # The first run stops after one epoch (as if killed): its checkpoint stays in data/neural-runs/.
    out1, _, history1, _ = run(1)
    assert out1.parent == tmp_path / "data" / "neural-runs" and (out1 / "neural_checkpoint.pt").is_file()
    # The same data again: the run picks up at epoch 2 instead of starting over.
    out2, metrics, history2, _ = run(2)
    assert out2 == out1 and metrics["epochs_run"] == 2
    assert history2[0] == history1[0]  # epoch 1 (its measured time included) came from the checkpoint


def test_tune_routing_bad_inputs(hybrid_dir, captcha_dir, tmp_path):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(hybrid_dir, model)
    solver = _solver(model, tmp_path, "auto")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        solver.tune_fusion(tmp_path / "nowhere", progress=False)
    # A zero-byte PNG and a non-image beside real captchas: skipped, the rest still counts.
    folder = tmp_path / "mixed"
    folder.mkdir()
    for p in sorted(captcha_dir.glob("*.png"))[:6]:
        shutil.copy(p, folder / p.name)
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.txt").write_text("not a captcha")
    picked = solver.tune_fusion(folder, progress=False)
    assert picked["n"] == 6
    # Only unreadable files: a clear error, the manifest untouched.
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "abc.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ValueError, match="no readable labelled captcha"):
        solver.tune_fusion(bad, progress=False)
    assert load_manifest(model)["fusion"] == picked
