"""``release --out``: byte-reproducible, validated first, otter-compatible public checks."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.cli import run as cli
from autograder.exercises import get_exercise

ROOT = Path(__file__).resolve().parents[1]


def digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_release_out_is_byte_identical_twice(tmp_path: Path) -> None:
    assert cli(["release", "mse", "--out", str(tmp_path / "a"), "--no-validate"]) == 0
    assert cli(["release", "mse", "--out", str(tmp_path / "b"), "--no-validate"]) == 0
    first, second = digests(tmp_path / "a"), digests(tmp_path / "b")
    assert first == second
    assert set(first) == {"student/mse.zip", "student/course.zip", "gradescope/mse.zip",
                          "otter/mse/tests/mse.py", "otter/mse/tests/cost.py"}


def test_gradescope_zip_layout(tmp_path: Path) -> None:
    assert cli(["release", "mse", "--out", str(tmp_path), "--no-validate"]) == 0
    with zipfile.ZipFile(tmp_path / "gradescope" / "mse.zip") as archive:
        infos = {i.filename: i for i in archive.infolist()}
        assert infos["setup.sh"].external_attr >> 16 == 0o100755
        assert infos["run_autograder"].external_attr >> 16 == 0o100755
        assert "graders/mse/tests.py" in infos and "autograder/runner/probe.py" in infos
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos.values())
        assert not any("__pycache__" in name or name.startswith("solutions/")
                       for name in infos)
    with zipfile.ZipFile(tmp_path / "student" / "mse.zip") as archive:
        names = archive.namelist()
        assert names == sorted(names) and "mse/mse.ipynb" in names
        assert not any("graders" in n for n in names)
        notebook = archive.read("mse/mse.ipynb").decode()
        assert "BEGIN SOLUTION" not in notebook and "np.mean(errors ** 2)" not in notebook


def test_release_refuses_a_broken_exercise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    course = tmp_path / "course"
    for folder in ("graders", "solutions", "templates", "data"):
        shutil.copytree(ROOT / folder, course / folder)
    solution = course / "solutions" / "mse" / "mse.ipynb"
    # A solution whose cost is off by a factor of two: it cannot get full marks.
    text = solution.read_text(encoding="utf-8")
    broken = text.replace("errors @ errors / (2 * len(errors))", "errors @ errors / len(errors)")
    assert broken != text
    solution.write_text(broken, encoding="utf-8")
    monkeypatch.setenv("AUTOGRADER_COURSE_DIR", str(course))
    code = cli(["release", "mse", "--out", str(tmp_path / "dist"), "--sandbox", "local"])
    assert code == 1
    err = capsys.readouterr().err
    assert "release refused, nothing was written" in err
    assert "mse: solution should give full marks" in err
    assert not (tmp_path / "dist").exists()


@pytest.mark.slow
def test_otter_check_runs_the_released_public_checks(tmp_path: Path) -> None:
    """otter-grader's own `otter check` loads and runs the OK-format tests."""
    assert cli(["release", "mse", "--out", str(tmp_path), "--no-validate"]) == 0
    with zipfile.ZipFile(tmp_path / "student" / "mse.zip") as archive:
        archive.extractall(tmp_path / "student")
    folder = tmp_path / "student" / "mse"
    solved = folder / "solved.ipynb"
    shutil.copyfile(get_exercise("mse").solution_path, solved)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def otter_check(notebook: Path) -> str:
        done = subprocess.run([sys.executable, "-m", "otter", "check", str(notebook), "-t",
                               "tests"], cwd=folder, capture_output=True, text=True,
                              timeout=300, env=env)
        return done.stdout + done.stderr

    assert "All tests passed!" in otter_check(solved)
    blank = otter_check(folder / "mse.ipynb")
    assert "All tests passed!" not in blank
    assert "mse: replace this line with your code" in blank
