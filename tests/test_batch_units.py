"""The batch's building blocks, without kernels: discovery and LMS exports, the cache key,
crash-safe writes, the gradebook and the summary."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.batch import gradebook, summary
from autograder.batch.cache import CacheKey, ResultCache, options_fingerprint, sandbox_identity
from autograder.batch.discovery import content_sha256, discover
from autograder.batch.exports import ExportError
from autograder.batch.failures import sandbox_failure
from autograder.batch.files import remove_partial_files, write_atomic
from autograder.batch.submitters import Submitter
from autograder.exercises import Limits
from autograder.results import GradeResult
from autograder.results import TestResult as Check
from autograder.sandbox import LocalSandbox
from tests.batch_support import ROOT, gradescope_metadata

GRADESCOPE_METADATA = gradescope_metadata({
    "submission_111": [("Jane Doe", "1001", "jane@uni.edu")],
    "submission_222": [("Kim Roe", "1002", "kim@uni.edu"), ("Al Smith", "", "al@uni.edu")],
})
NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def _zip(path: Path, members: dict[str, str], links: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return path


def _result(score: float, errors: list[str] | None = None, seconds: float = 1.0) -> GradeResult:
    tests = [Check("a", score, 1, "passed" if score else "failed"),
             Check("b", 1, 1, "passed")]
    return GradeResult.from_tests("mse", tests, execution_time=seconds, errors=errors)


def test_a_folder_gives_one_submission_per_notebook_zip_or_folder(tmp_path: Path) -> None:
    (tmp_path / "ann.ipynb").write_text(NOTEBOOK)
    _zip(tmp_path / "bob.zip", {"mse.ipynb": NOTEBOOK})
    (tmp_path / "cy d").mkdir()
    (tmp_path / "cy d" / "mse.ipynb").write_text(NOTEBOOK)
    (tmp_path / "notes.txt").write_text("not a submission")
    (tmp_path / ".hidden.ipynb").write_text(NOTEBOOK)
    found = discover(tmp_path, tmp_path / "unused")
    assert [(s.id, s.path.name) for s in found.submissions] == [
        ("ann", "ann.ipynb"), ("bob", "bob.zip"), ("cy_d", "cy d")]
    assert found.skipped == ["notes.txt"]


def test_a_canvas_export_becomes_one_folder_per_student(tmp_path: Path) -> None:
    export = _zip(tmp_path / "submissions.zip", {
        "doejane_12_901_mse.ipynb": NOTEBOOK,
        "doejane_12_902_data.csv": "x,y\n",
        "roekim_LATE_34_903_mse-1.ipynb": NOTEBOOK,
        "smithal_56_904_project.zip": "",
    })
    found = discover(export, tmp_path / "unpacked")
    assert found.export == "canvas"
    by_id = {s.id: s.path for s in found.submissions}
    assert sorted(by_id) == ["doejane_12", "roekim_34", "smithal_56"]
    assert sorted(p.name for p in by_id["doejane_12"].iterdir()) == ["data.csv", "mse.ipynb"]
    assert by_id["smithal_56"].name == "project.zip"  # an uploaded zip is the submission
    assert found.submitters["roekim_34"] == (Submitter("roekim", "", "34"),)


def test_unreadable_gradescope_metadata_still_grades_without_names(tmp_path: Path) -> None:
    export = _zip(tmp_path / "export.zip", {
        "submission_metadata.yml": "submission_1: [unclosed",
        "submission_1/mse.ipynb": NOTEBOOK,
    })
    found = discover(export, tmp_path / "unpacked")
    assert [s.id for s in found.submissions] == ["submission_1"]
    assert found.submitters == {}
    assert found.skipped[0].startswith("submission_metadata.yml is not readable YAML")
    assert found.skipped[0].endswith("graded without the students' names")


def test_a_gradescope_export_keeps_its_submission_folders(tmp_path: Path) -> None:
    export = _zip(tmp_path / "export.zip", {
        "assignment_7_export/submission_metadata.yml": GRADESCOPE_METADATA,
        "assignment_7_export/submission_111/mse.ipynb": NOTEBOOK,
        "assignment_7_export/submission_222/mse.ipynb": NOTEBOOK,
        "assignment_7_export/submission_333/mse.ipynb": NOTEBOOK,
    })
    found = discover(export, tmp_path / "unpacked")
    assert found.export == "gradescope"
    assert [s.id for s in found.submissions] == ["submission_111", "submission_222",
                                                 "submission_333"]
    assert found.skipped == []  # the metadata file is not a submission
    assert found.submitters == {
        "submission_111": (Submitter("Jane Doe", "jane@uni.edu", "1001"),),
        "submission_222": (Submitter("Kim Roe", "kim@uni.edu", "1002"),
                           Submitter("Al Smith", "al@uni.edu", "")),
    }
    again = discover(export, tmp_path / "unpacked")  # a rerun reuses the unpacked folder
    assert [s.sha256 for s in again.submissions] == [s.sha256 for s in found.submissions]


@pytest.mark.parametrize("members,links", [
    ({"submission_1/../../escape.ipynb": NOTEBOOK}, ()),
    ({"/abs/mse.ipynb": NOTEBOOK}, ()),
    ({"submission_1/mse.ipynb": NOTEBOOK}, ("submission_1/link",)),
])
def test_an_unsafe_entry_skips_its_submission_and_nothing_escapes(
        tmp_path: Path, members: dict[str, str], links: tuple[str, ...]) -> None:
    members = {**members, "submission_2/mse.ipynb": NOTEBOOK}
    export = _zip(tmp_path / "export.zip", members, links)
    found = discover(export, tmp_path / "work" / "unpacked")
    assert [s.id for s in found.submissions] == ["submission_2"]  # the others still graded
    assert len(found.skipped) == 1 and ("'..'" in found.skipped[0]
                                        or "symbolic link" in found.skipped[0])
    assert not (tmp_path / "escape.ipynb").exists()
    assert not list((tmp_path / "work").rglob("escape.ipynb"))
    assert not list((tmp_path / "work").rglob("link"))


def test_an_export_that_is_not_a_zip_is_a_message(tmp_path: Path) -> None:
    broken = tmp_path / "export.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises((ExportError, FileNotFoundError)):
        discover(broken, tmp_path / "unpacked")


def test_content_hash_follows_bytes_and_names(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "mse.ipynb").write_text(NOTEBOOK)
    first = content_sha256(folder)
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "x.ipynb").write_text("ignored")
    assert content_sha256(folder) == first
    (folder / "data.csv").write_text("1")
    assert content_sha256(folder) != first


def test_the_cache_key_changes_with_grader_sandbox_and_options() -> None:
    base = CacheKey("mse", "a" * 64, "v1", "local", options_fingerprint("full", Limits()))
    changed = [
        CacheKey("mse", "b" * 64, "v1", "local", base.options),
        CacheKey("mse", "a" * 64, "v2", "local", base.options),
        CacheKey("mse", "a" * 64, "v1", "docker:sha256:1", base.options),
        CacheKey("mse", "a" * 64, "v1", "local", options_fingerprint("fast", Limits())),
        CacheKey("mse", "a" * 64, "v1", "local",
                 options_fingerprint("full", Limits(timeout_s=5))),
    ]
    assert len({base.digest, *(k.digest for k in changed)}) == 6
    assert sandbox_identity(LocalSandbox()) == "local"


def test_cache_round_trip_and_unreadable_entries(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    key = CacheKey("mse", "a" * 64, "v1", "local", "o")
    assert cache.get(key) is None
    cache.put(key, _result(1))
    stored = cache.get(key)
    assert stored is not None and stored.to_dict() == _result(1).to_dict()
    entry = next(tmp_path.rglob("*.json"))
    entry.write_text('{"key": ')  # e.g. a disk that filled up: regrade, do not crash
    assert cache.get(key) is None


def test_a_killed_write_leaves_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    write_atomic(target, b"old")
    # A child process starts a huge write and is killed with SIGKILL in the middle of it.
    script = ("import sys, os, signal\n"
              "from pathlib import Path\n"
              "from autograder.batch import files\n"
              "real = os.replace\n"
              "def die(*a): os.kill(os.getpid(), signal.SIGKILL)\n"
              "os.replace = die\n"
              f"files.write_atomic(Path({str(target)!r}), b'new' * 1000)\n")
    child = subprocess.run([sys.executable, "-c", script], cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert child.returncode == -9
    assert target.read_bytes() == b"old"
    assert remove_partial_files(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_gradebook_has_one_row_per_submission_and_one_column_per_test() -> None:
    people = {"zed": (Submitter("Zed Ng", "zed@uni.edu", "7"), Submitter("Amy Li", "", "8"))}
    text = gradebook.render({"zed": _result(1), "amy": _result(0)}, ["a", "b", "c, d"], people)
    assert text.splitlines() == [
        "submission,students,emails,student_ids,score,max_score,a,b,\"c, d\"",
        "amy,,,,1,2,0,1,", "zed,Zed Ng; Amy Li,zed@uni.edu,7; 8,2,2,1,1,"]


def test_summary_groups_errors_by_cause_and_counts_scores() -> None:
    results = {
        "ann": _result(1, seconds=3),
        "bob": _result(0, ["Cell 3 raised ZeroDivisionError: division by zero"]),
        "cy": _result(0, ["Cell 7 raised ZeroDivisionError: division by zero"], seconds=9),
        "dee": _result(0, ["dee.ipynb is not a notebook: it is not valid JSON (x at line 1)."]),
    }
    data = summary.build(exercise="mse", grader_version="v", sandbox="local",
                         submissions=["ann", "bob", "cy", "dee", "eve"], results=results,
                         test_names=["a", "b"], run={"graded_now": 4, "from_cache": 0,
                                                     "wall_seconds": 1.0, "workers": ""})
    assert data["missing"] == ["eve"]
    assert data["distribution"] == [{"score": 1, "count": 3}, {"score": 2, "count": 1}]
    assert data["tests"][0] == {"name": "a", "passed": 1, "failed": 3, "error": 0,
                                "pass_rate": 0.25}
    assert data["errors"][0] == {"cause": "Cell N raised ZeroDivisionError: division by zero",
                                 "count": 2, "examples": ["bob", "cy"]}
    assert data["errors"][1]["cause"].startswith("<notebook> is not a notebook")
    assert data["slowest"][0] == {"submission": "cy", "seconds": 9}
    text = summary.render_markdown(data)
    assert "| 2 | Cell N raised ZeroDivisionError: division by zero | bob, cy |" in text


def test_sandbox_failures_are_told_apart_from_student_failures() -> None:
    from autograder.results import Problem, ProblemCode

    tests = [Check("a", 0, 1, "failed")]
    student = GradeResult.from_tests("mse", tests, execution_time=1.0, problems=[
        Problem(ProblemCode.CELL_ERROR, "Cell 1 raised NameError: x")])
    assert sandbox_failure(student) is None
    # Told apart by code, not by words: the same sentence without the code is no failure.
    words = "The sandbox stopped before reporting anything (exit code 127)."
    assert sandbox_failure(_result(0, [words])) is None
    broken = GradeResult.from_tests("mse", tests, execution_time=1.0, problems=[
        Problem(ProblemCode.SANDBOX_NO_REPORT, words)])
    assert sandbox_failure(broken) == words
    assert sandbox_failure(GradeResult.from_dict(broken.to_dict())) == words


def test_max_failures_stops_after_sandbox_failures_and_caches_none(tmp_path: Path) -> None:
    from autograder.batch.discovery import SubmissionSource
    from autograder.batch.progress import PlainProgress
    from autograder.batch.run import _Batch, _finished
    from autograder.batch.task import GradeRequest, TaskOutcome
    from autograder.exercises import get_exercise

    exercise = get_exercise("mse")
    messages = io.StringIO()
    batch = _Batch(exercise=exercise, grader=exercise.load_grader(),
                   cache=ResultCache(tmp_path / "cache"), results_dir=tmp_path / "results",
                   progress=PlainProgress(messages), max_failures=2)
    from autograder.results import Problem, ProblemCode

    broken = GradeResult.from_tests("mse", [Check("a", 0, 1, "failed")], execution_time=1.0,
                                    problems=[Problem(ProblemCode.SANDBOX_NO_REPORT,
                                                      "The sandbox stopped (exit code 127).")])
    fine = _result(2)
    outcomes: list[TaskOutcome | BaseException] = [
        TaskOutcome(result=fine.to_dict(), graded=True, worker="w"),
        TaskOutcome(result=broken.to_dict(), graded=True, worker="w"),
        RuntimeError("worker lost"),
    ]
    verdicts = []
    for number, outcome in enumerate(outcomes):
        key = CacheKey("mse", str(number) * 64, exercise.version, "local", "o")
        request = GradeRequest(submission_id=f"s{number}", submission_path="unused", key=key,
                               sandbox_name="local", limits=Limits(), cache_dir=str(tmp_path))
        source = SubmissionSource(id=f"s{number}", path=tmp_path, sha256=key.submission_sha256)
        verdicts.append(_finished(batch, [source], request, outcome))
        assert (batch.cache.get(key) is not None) == (number == 0)  # failures are not cached
    assert verdicts == [True, True, False]
    assert batch.stopped is not None and "--max-failures 2" in batch.stopped
    assert "Grading failed on the grading machine (RuntimeError: worker lost)" in (
        tmp_path / "results" / "s2.json").read_text()
