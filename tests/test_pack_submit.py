"""``autograder pack`` and the released notebook's submit cell."""

from __future__ import annotations

import os
import shutil
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.cli import run as cli
from autograder.exercises import get_exercise
from autograder.release.assignments import student_notebook_text
from autograder.submission.intake import load_submission
from autograder.submission.pack import PackError, pack

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = ["model.keras", "scaler.json"]


@pytest.fixture()
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the course whose mse exercise requires two files."""
    course = tmp_path / "course"
    for folder in ("graders", "solutions", "templates", "data"):
        shutil.copytree(ROOT / folder, course / folder)
    config = course / "graders" / "mse" / "config.toml"
    config.write_text(f"required_files = {REQUIRED!r}\n" + config.read_text(), encoding="utf-8")
    monkeypatch.setenv("AUTOGRADER_COURSE_DIR", str(course))
    return course


def student_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "mse.ipynb").write_text(student_notebook_text(get_exercise("mse")))
    return folder


def test_pack_zips_exactly_the_required_files_and_the_grader_accepts_it(
        course: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = student_folder(tmp_path)
    (folder / "model.keras").write_bytes(b"model bytes")
    (folder / "scaler.json").write_text("{}")
    (folder / "notes.txt").write_text("not required")
    monkeypatch.chdir(folder)
    assert cli(["pack", "mse"]) == 0
    with zipfile.ZipFile(folder / "mse-submission.zip") as archive:
        assert sorted(archive.namelist()) == ["model.keras", "mse.ipynb", "scaler.json"]
    submission = load_submission(folder / "mse-submission.zip", "mse")
    assert sorted(submission.files) == REQUIRED


def test_pack_refuses_missing_empty_large_and_stale_files(
        course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = student_folder(tmp_path)
    notebook = folder / "mse.ipynb"
    assert cli(["pack", "mse", "--notebook", str(notebook)]) == 1
    err = capsys.readouterr().err
    assert "model.keras is missing" in err and "scaler.json is missing" in err
    assert not (folder / "mse-submission.zip").exists()

    (folder / "model.keras").write_bytes(b"")
    (folder / "scaler.json").write_bytes(b"x" * 4096)
    with pytest.raises(PackError) as refused:
        pack(notebook, REQUIRED, folder / "out.zip", max_file_mb=0.001)
    assert "model.keras is empty" in str(refused.value)
    assert "scaler.json is 0.0 MB, over the 0.001 MB limit" in str(refused.value)

    (folder / "model.keras").write_bytes(b"weights")
    hour_ago = time.time() - 3600
    os.utime(folder / "model.keras", (hour_ago, hour_ago))
    with pytest.raises(PackError, match=r"model\.keras is 60 minutes older than the notebook"):
        pack(notebook, REQUIRED, folder / "out.zip")
    assert not (folder / "out.zip").exists()


def run_submit_cell(folder: Path) -> str:
    released = nbformat.read(folder / "mse.ipynb", as_version=4)
    last = released.cells[-1]
    assert last.metadata["autograder"]["role"] == "submit"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(last.source)])
    NotebookClient(notebook, timeout=60, resources={"metadata": {"path": str(folder)}}).execute()
    return "".join(o.get("text", "") for o in notebook.cells[0].outputs)


@pytest.mark.slow
def test_submit_cell_packs_in_a_real_kernel(course: Path, tmp_path: Path) -> None:
    folder = student_folder(tmp_path)
    printed = run_submit_cell(folder)
    assert printed.startswith("✘ Not packed:") and "model.keras is missing" in printed
    (folder / "model.keras").write_bytes(b"weights")
    (folder / "scaler.json").write_text("{}")
    assert run_submit_cell(folder).startswith("✔ Upload mse-submission.zip")
    with zipfile.ZipFile(folder / "mse-submission.zip") as archive:
        assert sorted(archive.namelist()) == ["model.keras", "mse.ipynb", "scaler.json"]


def test_released_notebook_ends_with_one_submit_cell() -> None:
    notebook = nbformat.reads(student_notebook_text(get_exercise("mse")), as_version=4)
    roles = [c.metadata.get("autograder", {}).get("role") for c in notebook.cells]
    assert roles[-1] == "submit" and roles.count("submit") == 1
    assert "mse-submission.zip" in notebook.cells[-1].source
