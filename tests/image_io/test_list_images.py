import re

import pytest

from captcha_solver.image_io import EmptyDatasetError, label_from_path, list_images


def test_lists_images_sorted_and_rejects_the_rest(tmp_path):
    for name in ["b2.png", "a1.PNG", "c3.jpeg", "notes.txt", "README", ".hidden.png", ".DS_Store"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "d4.png").write_bytes(b"x")
    (tmp_path / ".git").mkdir()

    images, rejected = list_images(tmp_path)

    assert [p.name for p in images] == ["a1.PNG", "b2.png", "c3.jpeg"]
    reasons = {p.name: reason for p, reason in rejected}
    assert list(reasons) == ["README", "nested", "notes.txt"]
    assert reasons["nested"] == "is a folder; nested folders are not read"
    expected = r"extension '\.txt' is not an image extension; expected one of \.png, \.jpg, "
    assert re.match(expected, reasons["notes.txt"])
    assert reasons["README"].startswith("has no extension; expected one of .png")


def test_custom_extensions(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "b.jpg").write_bytes(b"x")
    images, rejected = list_images(tmp_path, extensions=[".JPG"])
    assert [p.name for p in images] == ["b.jpg"]
    assert [(p.name, r) for p, r in rejected] == [
        ("a.png", "extension '.png' is not an image extension; expected one of .jpg")
    ]


def test_bad_extensions_argument(tmp_path):
    with pytest.raises(
        ValueError, match=r"extensions must be non-empty and each start with '\.'.*got \['png'\]"
    ):
        list_images(tmp_path, extensions=["png"])
    with pytest.raises(ValueError, match="extensions must be non-empty"):
        list_images(tmp_path, extensions=[])


def test_broken_link_rejected(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "dangling.png").symlink_to(tmp_path / "missing.png")
    images, rejected = list_images(tmp_path)
    assert [p.name for p in images] == ["a.png"]
    assert rejected == [(tmp_path / "dangling.png", "is not a regular file (broken link or special file)")]


def test_only_rejected_entries_is_not_an_error(tmp_path):
    (tmp_path / "notes.txt").write_bytes(b"x")
    images, rejected = list_images(tmp_path)
    assert images == [] and len(rejected) == 1


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset folder not found: .*nope"):
        list_images(tmp_path / "nope")


def test_file_instead_of_folder(tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(b"x")
    with pytest.raises(
        NotADirectoryError, match=r"dataset folder .*a\.png is a file, expected a folder of images"
    ):
        list_images(path)


def test_empty_folder(tmp_path):
    with pytest.raises(
        EmptyDatasetError, match=re.escape(f"dataset folder {tmp_path} is empty: no files at all")
    ):
        list_images(tmp_path)


def test_only_hidden_files(tmp_path):
    (tmp_path / ".DS_Store").write_bytes(b"x")
    with pytest.raises(EmptyDatasetError, match=r"is empty: only hidden files \(1\); expected image files"):
        list_images(tmp_path)
    assert issubclass(EmptyDatasetError, ValueError)


def test_label_from_path(tmp_path):
    assert label_from_path("data/train/x7k2.png") == "x7k2"
    assert label_from_path(tmp_path / "AbC9.jpeg") == "AbC9"
    assert label_from_path("a.b.png") == "a.b"


def test_label_from_path_without_stem():
    with pytest.raises(ValueError, match=r"cannot take a label from \.png: the file name has no stem"):
        label_from_path(".png")


def test_links_out_of_the_folder_are_not_followed(tmp_path):
    folder, outside = tmp_path / "data", tmp_path / "elsewhere"
    folder.mkdir()
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"x")
    (outside / "nested").mkdir()
    (folder / "a.png").write_bytes(b"x")
    (folder / "inner.png").symlink_to("a.png")  # stays inside: read
    (folder / "out.png").symlink_to(outside / "secret.png")
    (folder / "sneaky.png").symlink_to("../elsewhere/secret.png")
    (folder / "outdir").symlink_to(outside / "nested")

    images, rejected = list_images(folder)

    assert [p.name for p in images] == ["a.png", "inner.png"]
    reasons = dict((p.name, r) for p, r in rejected)
    assert list(reasons) == ["out.png", "outdir", "sneaky.png"]  # sorted by name
    for name in ("out.png", "sneaky.png"):
        assert reasons[name] == (
            f"is a symbolic link to {outside / 'secret.png'}, outside the dataset folder; not followed "
            "(set input.follow_symlinks: true to read such links)"
        )
    assert reasons["outdir"].startswith(
        f"is a symbolic link to {outside / 'nested'}, outside the dataset folder"
    )

    images, rejected = list_images(folder, follow_symlinks=True)
    assert [p.name for p in images] == ["a.png", "inner.png", "out.png", "sneaky.png"]
    assert [(p.name, r) for p, r in rejected] == [("outdir", "is a folder; nested folders are not read")]


def test_link_loop_is_rejected_with_a_reason(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "loop1.png").symlink_to("loop2.png")
    (tmp_path / "loop2.png").symlink_to("loop1.png")
    images, rejected = list_images(tmp_path)
    assert [p.name for p in images] == ["a.png"]
    assert [p.name for p, _ in rejected] == ["loop1.png", "loop2.png"]
    assert all(r.startswith("is a symbolic link that cannot be resolved (") for _, r in rejected)


def test_a_dataset_folder_reached_through_a_link_still_reads_its_own_links(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.png").write_bytes(b"x")
    (real / "b.png").symlink_to(real / "a.png")
    (tmp_path / "via").symlink_to(real)
    images, rejected = list_images(tmp_path / "via")
    assert [p.name for p in images] == ["a.png", "b.png"] and rejected == []
