"""The monitoring baseline stored with a model: by training, in the shipped model, by bench/baseline.py; old models load."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from captcha_solver.artifacts import MANIFEST, CorruptModelError, load_manifest
from captcha_solver.inference import Model, shipped_model_dir
from captcha_solver.monitoring import Baseline
from captcha_solver.settings import Config

REPO = Path(__file__).resolve().parents[2]


def _bench_baseline():
    spec = importlib.util.spec_from_file_location("bench_baseline", REPO / "bench" / "baseline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _copy(src: Path, dst: Path, edit=None) -> Path:
    shutil.copytree(src, dst)
    if edit is not None:
        doc = json.loads((dst / MANIFEST).read_text(encoding="utf-8"))
        edit(doc)
        (dst / MANIFEST).write_text(json.dumps(doc), encoding="utf-8")
    return dst


def test_training_stores_the_baseline_of_the_read_back(trained_model_dir):
    manifest = load_manifest(trained_model_dir)
    baseline = Baseline.from_dict(manifest.monitoring.baseline)
    # The same validation captchas the read-back check read, one reading each.
    assert baseline.n == manifest.verified["n"] > 0
    assert sum(baseline.length_counts) == baseline.n


def test_the_shipped_model_has_a_baseline_of_1000_seed_style_readings():
    manifest = load_manifest(shipped_model_dir())  # checksums still hold
    baseline = Baseline.from_dict(manifest.monitoring.baseline)
    assert baseline.n == 1000 and "seed 77" in manifest.monitoring.extra["dataset"]
    # The seed style: lengths 3 to 6, nearly all readings sure.
    assert sum(baseline.length_counts[3:7]) == 1000
    assert baseline.confidence_counts[-1] > 800


def test_a_model_without_a_baseline_loads(tmp_path):
    folder = _copy(shipped_model_dir(), tmp_path / "old", lambda doc: doc.pop("monitoring"))
    assert Model.load(folder, Config()).manifest.monitoring is None


def test_a_monitoring_entry_that_is_not_an_object_is_named(tmp_path):
    folder = _copy(shipped_model_dir(), tmp_path / "bad", lambda doc: doc.update(monitoring=[1]))
    with pytest.raises(CorruptModelError, match="'monitoring' is an array"):
        load_manifest(folder)


def test_bench_baseline_recomputes_it_and_keeps_the_checksums(trained_model_dir, captcha_dir, tmp_path):
    folder = _copy(trained_model_dir, tmp_path / "model", lambda doc: doc.pop("monitoring"))
    data = tmp_path / "data"
    data.mkdir()
    for path in sorted(captcha_dir.glob("*.png"))[:30]:
        shutil.copy(path, data / path.name)
    (data / "notes.txt").write_text("not a captcha", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != MANIFEST}
    found = _bench_baseline().compute(folder, data, source="30 test captchas")
    assert found["n"] == 30 and found["skipped"] == 1
    manifest = load_manifest(folder)  # checks every artifact's sha256
    assert Baseline.from_dict(manifest.monitoring.baseline).n == 30
    assert manifest.monitoring.extra["dataset"] == "30 test captchas"
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.name != MANIFEST} == before
    assert sorted(p.name for p in folder.iterdir()) == sorted([*before, MANIFEST])  # no temporary left
