"""Submissions are checked before anything runs: each problem gets a specific message."""

import json
import os
import stat
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.submission.intake import SubmissionError, load_submission

GOOD = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]))


def test_a_plain_notebook_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "mse.ipynb"
    path.write_text(GOOD)
    submission = load_submission(path, "mse")
    assert "".join(submission.notebook["cells"][0]["source"]) == "x = 1"


@pytest.mark.parametrize(("content", "message"), [
    (b"this is not json", "not valid JSON"),
    (b'{"a": 1}', "not a Jupyter notebook"),
    (json.dumps({"cells": [], "nbformat": 3, "nbformat_minor": 0, "metadata": {}}).encode(),
     "notebook format 3"),
    (GOOD.replace('"x = 1"', '"caf\xe9"').encode("latin-1"), "not UTF-8"),
    (json.dumps({"cells": [{"cell_type": "code"}], "nbformat": 4, "nbformat_minor": 5,
                 "metadata": {}}).encode(), "not a valid format-4 notebook"),
])
def test_broken_notebooks_are_named_precisely(tmp_path: Path, content: bytes,
                                              message: str) -> None:
    path = tmp_path / "mse.ipynb"
    path.write_bytes(content)
    with pytest.raises(SubmissionError, match=message):
        load_submission(path, "mse")


def test_a_huge_notebook_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "mse.ipynb"
    with open(path, "wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: 200 MB on paper
    with pytest.raises(SubmissionError, match="200 MiB"):
        load_submission(path, "mse")


def test_zip_with_parent_paths_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sub.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mse.ipynb", GOOD)
        archive.writestr("../../etc/evil", "x")
    with pytest.raises(SubmissionError, match="unsafe path"):
        load_submission(path, "mse")


def test_zip_with_a_symlink_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sub.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mse.ipynb", GOOD)
        link = zipfile.ZipInfo("graders")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/work")
    with pytest.raises(SubmissionError, match="symbolic link"):
        load_submission(path, "mse")


def test_zip_keeps_files_beside_the_notebook(tmp_path: Path) -> None:
    path = tmp_path / "sub.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("work/mse.ipynb", GOOD)
        archive.writestr("work/model.keras", b"weights")
        archive.writestr("__MACOSX/work/._mse.ipynb", b"junk")
    submission = load_submission(path, "mse")
    assert submission.files == {"model.keras": b"weights"}


def test_folder_with_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mse.ipynb").write_text(GOOD)
    os.symlink("/etc/passwd", tmp_path / "passwd")
    with pytest.raises(SubmissionError, match="symbolic link"):
        load_submission(tmp_path, "mse")


def test_several_notebooks_need_the_exercise_name(tmp_path: Path) -> None:
    (tmp_path / "a.ipynb").write_text(GOOD)
    (tmp_path / "b.ipynb").write_text(GOOD)
    with pytest.raises(SubmissionError, match=r"name the one to grade mse\.ipynb"):
        load_submission(tmp_path, "mse")
    (tmp_path / "mse.ipynb").write_text(GOOD)
    assert load_submission(tmp_path, "mse").notebook_name == "mse.ipynb"


def test_a_zip_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sub.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mse.ipynb", GOOD)
        archive.writestr("zeros.bin", b"\0" * (210 * 1024 * 1024))
    with pytest.raises(SubmissionError, match="expands to more than"):
        load_submission(path, "mse")


def _zip_with(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mse.ipynb", GOOD)
        for name in names:
            archive.writestr(name, b"x")
    return path


@pytest.mark.parametrize(("names", "message"), [
    (["a" * 300 + ".csv"], "304 bytes long; file systems allow at most 255"),
    (["é" * 130], "260 bytes long"),
    (["/".join(["d"] * 2000) + "/f"], "2000 folders deep"),
    (["/".join(["d" * 200] * 6)], "bytes long; at most 1024"),
    (["data", "data/x.csv"], "'data' is both a file and a folder"),
    (["mse.ipynb/notes.txt"], "folder named 'mse.ipynb', where the notebook itself goes"),
])
def test_names_that_cannot_be_laid_out_are_refused(tmp_path: Path, names: list[str],
                                                   message: str) -> None:
    with pytest.raises(SubmissionError, match=message):
        load_submission(_zip_with(tmp_path / "sub.zip", names), "mse")


def test_a_non_utf8_name_in_a_folder_is_refused_with_a_message(tmp_path: Path) -> None:
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "mse.ipynb").write_text(GOOD)
    (Path(os.fsdecode(bytes(folder) + b"/caf\xe9.csv"))).write_bytes(b"1")
    with pytest.raises(SubmissionError, match=r"caf\\\\udce9\.csv.* is not UTF-8"):
        load_submission(folder, "mse")


def test_ordinary_nested_files_still_pass(tmp_path: Path) -> None:
    submission = load_submission(_zip_with(tmp_path / "sub.zip",
                                           ["data/x.csv", "data/y/z.csv", "m.keras"]), "mse")
    assert set(submission.files) == {"data/x.csv", "data/y/z.csv", "m.keras"}
