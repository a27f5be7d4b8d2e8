"""A tiny real training run: export, ONNX parity, the reader on its artifact, resume, errors."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("torch")

from captcha_solver.image_io import decode_image, label_from_path, list_images, split_dataset
from captcha_solver.neural import META_NAME, ONNX_NAME, NeuralArch, NeuralReader
from captcha_solver.training.neural import NeuralTrainingConfig as NeuralConfig
from captcha_solver.training.neural import train_neural as _train_neural
from tests.tiny_neural import TINY


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, captch_paths):
    out = tmp_path_factory.mktemp("neural")
    metrics = train_neural(captch_paths, config=NeuralConfig(**TINY), out_dir=out, progress=False)
    return out, metrics


@pytest.fixture(scope="module")
def captch_paths(captcha_dir):
    return list_images(captcha_dir)[0][:60]


def test_training_exports_onnx_and_meta(tiny_run):
    out, metrics = tiny_run
    assert (out / ONNX_NAME).is_file() and (out / META_NAME).is_file()
    assert metrics["epochs_run"] == 2 and metrics["n_train"] + metrics["n_val"] == 60
    assert 0.0 <= metrics["val_exact"] <= 1.0
    # ONNX and PyTorch agree on the log-probabilities.
    assert metrics["onnx_parity_max_abs"] < 1e-3
    meta = json.loads((out / META_NAME).read_text())
    cfg = NeuralArch.from_dict(meta["config"])
    # Charset and lengths learned from the labels (case-sensitive).
    assert set(cfg.charset) >= {c for p in meta["val_files"] for c in p.rsplit(".", 1)[0]}
    assert cfg.min_length >= 3 and cfg.max_length <= 6
    assert cfg.window_ratio > 0


def test_reader_runs_on_the_artifact_without_torch(tiny_run, captch_paths):
    out, _ = tiny_run
    reader = NeuralReader.from_dir(out, threads=1)
    res = reader.read(decode_image(captch_paths[0]), topk=3)
    assert isinstance(res.text, str) and len(res.char_confidences) == len(res.text)
    assert 0.0 <= res.confidence <= 1.0
    assert len(res.topk) <= 3 and [p for _, p in res.topk] == sorted((p for _, p in res.topk), reverse=True)
    assert res.timings_ms["total"] > 0
    digits = reader.read(decode_image(captch_paths[0]), allowed="0123456789", case="lower")
    assert set(digits.text) <= set("0123456789")


def test_log_probs_of_a_batch_are_the_network_on_preprocessed_arrays(tiny_run, captch_paths):
    import numpy as np

    from captcha_solver.neural import greedy_decode, preprocess_config

    reader = NeuralReader.from_dir(tiny_run[0], threads=1)
    images = [decode_image(p) for p in captch_paths[:3]]
    batch = reader.log_probs(images)
    direct = reader.network([preprocess_config(im, reader.config) for im in images])
    for lp, same, image in zip(batch, direct, images):
        assert lp.shape == same.shape and lp.shape[1] == len(reader.charset) + 1
        np.testing.assert_allclose(lp, same, atol=1e-6)
        # Padding frames are cut: a batch reads each captcha as read() does alone.
        # (Every length allowed: read() is then the greedy decode.)
        assert greedy_decode(lp, reader.charset)[0] == reader.read(image, lengths=range(64)).text


def test_reader_refuses_a_mismatched_onnx(tiny_run, tmp_path):
    out, _ = tiny_run
    shutil.copy(out / META_NAME, tmp_path / META_NAME)
    (tmp_path / ONNX_NAME).write_bytes((out / ONNX_NAME).read_bytes() + b"x")
    with pytest.raises(ValueError, match="does not match"):
        NeuralReader(tmp_path / ONNX_NAME, tmp_path / META_NAME)
    with pytest.raises(FileNotFoundError, match="not found"):
        NeuralReader(tmp_path / "missing.onnx", tmp_path / META_NAME)


def test_resume_continues_from_the_checkpoint(tiny_run, tmp_path, captch_paths):
    out, _ = tiny_run
    for name in ("neural_checkpoint.pt",):
        shutil.copy(out / name, tmp_path / name)
    metrics = train_neural(
        captch_paths,
        config=NeuralConfig(**{**TINY, "epochs": 3}),
        out_dir=tmp_path,
        progress=False,
    )
    # Epochs 1-2 came from the checkpoint: only epoch 3 ran.
    assert metrics["epochs_run"] == 3 and len(metrics["history"]) == 3


def test_too_few_images(tmp_path, captch_paths):
    with pytest.raises(ValueError, match="at least 20 labelled images, could read 5"):
        train_neural(
            captch_paths[:5],
            config=NeuralConfig(**TINY),
            out_dir=tmp_path,
            progress=False,
        )


def test_label_outside_charset(tmp_path, captch_paths):
    bad = next(p for p in captch_paths if "z" not in label_from_path(p))
    with pytest.raises(ValueError, match=rf"{bad.name}.*outside the charset"):
        train_neural(
            captch_paths,
            config=NeuralConfig(**{**TINY, "charset": "z"}),
            out_dir=tmp_path,
            progress=False,
        )


def test_planned_epochs_fits_the_budget():
    from captcha_solver.training.neural._loop import planned_epochs

    # No budget: every epoch asked for.
    assert planned_epochs(40, 0.0, elapsed_s=500, epoch_s=60, epochs_done=1) == 40
    # 10 minutes, 60 s gone, 30 s per epoch: 18 more epochs fit after the first.
    assert planned_epochs(40, 10.0, elapsed_s=60, epoch_s=30, epochs_done=1) == 19
    # Never more than asked for, never fewer than already run.
    assert planned_epochs(5, 10.0, elapsed_s=60, epoch_s=30, epochs_done=1) == 5
    assert planned_epochs(40, 1.0, elapsed_s=300, epoch_s=30, epochs_done=4) == 4


def test_time_budget_stops_training(tmp_path, captch_paths):
    # A budget far below one epoch: the run stops after its first epoch and says why.
    metrics = train_neural(
        captch_paths,
        config=NeuralConfig(**{**TINY, "epochs": 50, "max_minutes": 0.001}),
        out_dir=tmp_path,
        progress=False,
        resume=False,
    )
    assert metrics["epochs_run"] == 1 and metrics["stopped"] == "budget"
    assert (tmp_path / ONNX_NAME).is_file()


def test_negative_budget_is_refused():
    with pytest.raises(ValueError, match="max_minutes must be >= 0"):
        NeuralConfig(max_minutes=-1)


def test_a_given_validation_split_is_used(tmp_path, captch_paths):
    train, val = captch_paths[:50], captch_paths[50:]
    metrics = train_neural(
        train, val_paths=val, config=NeuralConfig(**{**TINY, "epochs": 1}), out_dir=tmp_path, progress=False
    )
    assert metrics["n_train"] == 50 and metrics["n_val"] == 10
    meta = json.loads((tmp_path / META_NAME).read_text())
    assert meta["val_files"] == sorted(p.name for p in val)


def test_width_dilation_trains_and_exports(tmp_path, captch_paths):
    metrics = train_neural(
        captch_paths,
        config=NeuralConfig(**{**TINY, "epochs": 1, "width_dilation": 2}),
        out_dir=tmp_path,
        progress=False,
    )
    assert metrics["onnx_parity_max_abs"] < 1e-3
    assert json.loads((tmp_path / META_NAME).read_text())["config"]["width_dilation"] == 2
    with pytest.raises(ValueError, match="width_dilation must be"):
        NeuralConfig(width_dilation=5)


def test_strided_stem_keeps_the_frames_and_exports(tmp_path, captch_paths):
    import torch

    from captcha_solver.neural import output_length
    from captcha_solver.training.neural._network import CRNN

    # The strided stem must emit as many frames as the pooled one for every
    # width (odd ones too): decoding and CTC lengths rely on output_length.
    for stride in (2, 4):
        pooled = CRNN(NeuralConfig(**{**TINY, "frame_stride": stride, "charset": "ab"})).eval()
        strided = CRNN(
            NeuralConfig(**{**TINY, "frame_stride": stride, "charset": "ab", "stem": "strided"})
        ).eval()
        for width in (16, 37, 100, 171):
            x = torch.zeros(1, 1, 32, width)
            assert strided(x).shape == pooled(x).shape == (1, output_length(width, stride), 3)
    assert sum(p.numel() for p in strided.features[0].parameters()) != sum(
        p.numel() for p in pooled.features[0].parameters()
    )
    metrics = train_neural(
        captch_paths,
        config=NeuralConfig(**{**TINY, "epochs": 1, "stem": "strided"}),
        out_dir=tmp_path,
        progress=False,
    )
    assert metrics["onnx_parity_max_abs"] < 1e-3
    assert json.loads((tmp_path / META_NAME).read_text())["config"]["stem"] == "strided"
    with pytest.raises(ValueError, match="stem must be 'pool' or 'strided', got 'conv'"):
        NeuralConfig(stem="conv")


@pytest.mark.parametrize(
    "change, message",
    [({"dropout": 1.0}, "dropout must be in"), ({"weight_decay": -1e-4}, "weight_decay must be >= 0")],
)
def test_regularisation_settings_are_checked(change, message):
    with pytest.raises(ValueError, match=message):
        NeuralConfig(**change)


def test_weight_average_is_what_is_exported_and_resumes(tmp_path, captch_paths):
    import torch

    from captcha_solver.training.neural._loop import CHECKPOINT_NAME, _WeightAverage

    # The average follows the weights: ramped decay, BatchNorm statistics included.
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    average = _WeightAverage(model, 0.9)
    with torch.no_grad():
        model[0].weight.add_(1.0)
        model[1].running_mean.add_(2.0)
    before = average.model[0].weight.clone()
    average.update(model, step=0)  # ramp: decay 1/10 at the first step
    assert torch.allclose(average.model[0].weight, 0.1 * before + 0.9 * model[0].weight)
    assert torch.allclose(average.model[1].running_mean, torch.full((2,), 1.8))
    assert not any(p.requires_grad for p in average.model.parameters())

    cfg = NeuralConfig(**{**TINY, "epochs": 1, "ema_decay": 0.95})
    train_neural(captch_paths, config=cfg, out_dir=tmp_path, progress=False)
    ckpt = torch.load(tmp_path / CHECKPOINT_NAME, map_location="cpu", weights_only=False)
    assert ckpt["average"] is not None
    # The exported weights are the average's, not the last step's.
    averaged = ckpt["average"]["features.0.0.weight"]
    assert not torch.allclose(averaged, ckpt["model"]["features.0.0.weight"])
    assert torch.allclose(averaged, ckpt["state"]["best_state"]["features.0.0.weight"])
    # A second call resumes with the average it had.
    metrics = train_neural(captch_paths, config=cfg.replace(epochs=2), out_dir=tmp_path, progress=False)
    assert metrics["epochs_run"] == 2
    # The exported record is the architecture alone; the schedule stays in the checkpoint.
    assert "ema_decay" not in json.loads((tmp_path / META_NAME).read_text())["config"]
    assert ckpt["config"]["ema_decay"] == 0.95
    with pytest.raises(ValueError, match="ema_decay must be in"):
        NeuralConfig(ema_decay=1.0)


def test_reader_refuses_an_onnx_that_does_not_parse_even_with_matching_digest(tiny_run, tmp_path):
    import hashlib

    out, _ = tiny_run
    garbage = (out / ONNX_NAME).read_bytes()[:200]  # truncated: the digest is made to match below
    (tmp_path / ONNX_NAME).write_bytes(garbage)
    meta = json.loads((out / META_NAME).read_text())
    meta["onnx_sha256"] = hashlib.sha256(garbage).hexdigest()
    (tmp_path / META_NAME).write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=f"{ONNX_NAME} is not a usable ONNX model"):
        NeuralReader(tmp_path / ONNX_NAME, tmp_path / META_NAME)
    (tmp_path / META_NAME).write_text("{truncated")
    with pytest.raises(ValueError, match=f"{META_NAME} is not valid JSON"):
        NeuralReader(tmp_path / ONNX_NAME, tmp_path / META_NAME)
    (tmp_path / META_NAME).write_text("[]")
    with pytest.raises(ValueError, match=f"{META_NAME} is not a neural reader's metadata"):
        NeuralReader(tmp_path / ONNX_NAME, tmp_path / META_NAME)


def train_neural(paths, *, val_paths=None, config=None, **kwargs):
    """The trainer with the run's split made here when a test gives none (the training run always gives one)."""
    if val_paths is None:
        cfg = config or NeuralConfig()
        paths, val_paths = split_dataset(list(map(str, paths)), cfg.val_fraction, cfg.seed)
    return _train_neural(paths, val_paths=val_paths, config=config, **kwargs)


def test_splicing_aligns_the_training_captchas_and_trains(tmp_path, captch_paths, caplog):
    # From a fifth of the planned epochs on (at least 5), every training captcha is aligned and half of the
    # captchas drawn are splices; the run still exports a working reader.
    caplog.set_level("INFO", logger="captcha_solver.neural")
    metrics = train_neural(
        captch_paths,
        config=NeuralConfig(**{**TINY, "epochs": 7, "patience": 7, "aug_splice": 0.5}),
        out_dir=tmp_path,
        progress=False,
        resume=False,
    )
    aligned = [r.getMessage() for r in caplog.records if "aligned for splicing" in r.getMessage()]
    assert aligned and aligned[0].startswith("neural: epoch 5, ")
    assert f"of {metrics['n_train']} training captchas" in aligned[0]
    assert metrics["epochs_run"] == 7 and (tmp_path / ONNX_NAME).is_file()


def test_splice_share_is_checked():
    with pytest.raises(ValueError, match="aug_splice must be in"):
        NeuralConfig(aug_splice=1.5)


def test_pseudo_labelled_captchas_learn_a_merged_group_as_one_class(tmp_path, captch_paths, caplog):
    # Self-training passes its pseudo-labelled captchas and the groups its validation confuses: their labels
    # are rewritten with the group's placeholder (splicing on, so splices carry it too) and the run exports
    # a reader of the real charset, with no placeholder class.
    caplog.set_level("INFO", logger="captcha_solver.neural")
    paths, val_paths = split_dataset(list(map(str, captch_paths)), 0.2, 0)
    seen = [c for c in dict.fromkeys("".join(label_from_path(p) for p in paths))]
    group = "".join(sorted(seen[:2]))
    pseudo = [p for p in paths if set(label_from_path(p)) & set(group)][:10]
    metrics = _train_neural(
        paths,
        val_paths=val_paths,
        config=NeuralConfig(**{**TINY, "epochs": 6, "patience": 6, "aug_splice": 0.5}),
        out_dir=tmp_path,
        progress=False,
        resume=False,
        merged=(pseudo, (group,)),
    )
    said = [r.getMessage() for r in caplog.records if "learned as one class" in r.getMessage()]
    assert said == [
        f"neural: {len(pseudo)} of {len(pseudo)} pseudo-labelled captchas have a character of {group}, "
        "learned as one class per group (the labels alone tell its characters apart)"
    ]
    assert any("aligned for splicing" in r.getMessage() for r in caplog.records)
    meta = json.loads((tmp_path / META_NAME).read_text())
    assert not any(ord(c) >= 0xE000 for c in meta["config"]["charset"])
    reader = NeuralReader.from_dir(tmp_path, threads=1)
    assert reader.read(decode_image(val_paths[0])).text is not None
    assert metrics["epochs_run"] == 6
