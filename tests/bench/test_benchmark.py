import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "benchmark.py"


def test_benchmark_prints_stage_figures(trained_model_dir, capsys):
    spec = importlib.util.spec_from_file_location("benchmark", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--count", "12", "--model-dir", str(trained_model_dir)]) == 0
    out = capsys.readouterr().out
    for fragment in ("end to end", "segmentation", "features", "classifier", "decode only", "captchas/s"):
        assert fragment in out
