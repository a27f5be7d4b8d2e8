"""The survey of a labelled folder: label statistics of all, image statistics of a sample."""

from captcha_solver.image_io import label_from_path
from captcha_solver.training import survey_dataset
from segmentation import SegmentationParams


def test_survey_of_generated_captchas(captcha_dir):
    paths = sorted(str(p) for p in captcha_dir.glob("*.png"))
    survey = survey_dataset(paths, SegmentationParams(), sample=40)
    assert survey["images"] == len(paths) and survey["sampled"] == 40
    assert set(survey["charset"]) == set("".join(label_from_path(p) for p in paths))
    assert sum(survey["lengths"].values()) == len(paths)
    assert survey["image_height"] == 300 and survey["image_width"] == 720
    assert 20 < survey["line_height"] < 200
    # The project's own style segments well: the classical reader is worth training.
    assert survey["segmentation_yield"] > 0.5


def test_unreadable_files_are_left_out_of_the_sample(tmp_path):
    bad = tmp_path / "abc.png"
    bad.write_bytes(b"not a png")
    survey = survey_dataset([str(bad)], SegmentationParams())
    assert survey["sampled"] == 0 and survey["segmentation_yield"] == 0.0 and survey["lengths"] == {"3": 1}
