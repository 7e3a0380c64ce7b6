"""Hostile and odd submissions at the sandbox → judge boundary: every one ends in a result.

Real kernels run each notebook. Records are forged the way a student's code can: during the
probe, a wrapped function rewrites the records the probe has already written (read-only,
as links, with ill-typed, huge or deeply nested content, or ``.npy`` headers that declare
terabytes), and before the probe, cells plant records, links and a fake ``execution.json``
in the results folder. The resource cases run the real CLI and measure the grading process
tree's peak memory (psutil, judge plus every child) against an honest grade of the same
exercise.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import psutil
import pytest

from autograder.exercises import Exercise
from autograder.pipeline import GradeOptions, grade
from autograder.plaindata import ArrayBudget
from autograder.protocol.call import CallRecord
from autograder.protocol.execution import ExecutionRecord
from autograder.protocol.status import CallStatus, ExecutionStatus
from autograder.results import GradeResult, ProblemCode
from autograder.runner import staging
from autograder.sandbox import (
    InfrastructureError,
    LocalSandbox,
    Sandbox,
    SandboxJob,
    SandboxOutcome,
)
from tests.conftest import solution_with

REPO = Path(__file__).resolve().parents[1]
# Peak memory a hostile grade may use above an honest grade of the same exercise.
MEMORY_BOUND = int(1.5 * 2**30)
UNREADABLE = "the notebook left unreadable grading data ("
MSE_TESTS = ("mse reproduces the worked table (MSE 5.4)", "mse on random 1-D arrays",
             "mse on column vectors (m×1)", "mse with one sample and with integer arrays")
COST_TEST = "cost J(w) = 1/(2m)·(Xw − y)ᵀ(Xw − y) with column vectors"


# -- forged records -------------------------------------------------------------------------

def _record(**fields: Any) -> bytes:
    body = {"id": "x", "protocol": {"__int__": "1"}, "status": "ok", **fields}
    return json.dumps({"__dict__": body}).encode()


def _npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape})
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


def _npz(members: dict[str, bytes] | None = None) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in (members or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


EMPTY = _npz()
ARRAY = _record(value={"__array__": "a0"})
# Forged records, each with what the judge must say about it; "LINK" plants a symbolic
# link to /etc/passwd instead of a file. One grade forges five: the records of the `mse`
# grader's first five calls (all to `mse`, before any call to `cost`).
Forgery = tuple[bytes | str, bytes | str, str]
FORGERIES: dict[str, list[Forgery]] = {
    "markers": [
        (_record(value={"__float__": "x"}), EMPTY, "an encoded float is not nan, inf or -inf"),
        (_record(value={"__int__": "9" * 5000}), EMPTY,
         "an encoded integer is not a short decimal string"),
        (_record(value=1.0, seconds={"__int__": "9" * 400}), EMPTY,
         "the call's duration is not a plausible duration"),
        (_record(value=json.loads("[" * 200 + "]" * 200)), EMPTY, "nests deeper than"),
        (_record(status={"__dict__": {}}), EMPTY, "the probe's record has no valid status"),
    ],
    "arrays": [
        (ARRAY, _npz({"a0.npy": _npy_header((2**40,)) + b"\0" * 64}),
         "declares 8,796,093,022,208 bytes of arrays"),
        (ARRAY, _npz({"a0.npy": _npy_header((4,), "|O") + b"\0" * 32}),
         "holds object values, not plain numbers"),
        (_record(value={"__tuple__": [0] * 20_000}), EMPTY,
         "an encoded tuple is not a list of at most 10000 items"),
        # A link never leaves the sandbox: the runner drops it when it promotes the records.
        (_record(value=1.0), "LINK", r"\.npz is missing"),
        (ARRAY, _npz({"a0.npy": _npy_header((10,)) + b"\0" * 8}),
         "declares more data than it holds"),
    ],
    "records": [
        (b'{"__dict__": {"protocol": ' + b"7" * 5000 + b"}}", EMPTY,
         "an integer has more than 1000 digits"),
        (b'"' + b"x" * (9 * 2**20) + b'"', EMPTY, "bytes, over the 8,388,608 allowed"),
        (json.dumps({"__dict__": {"id": "x", "protocol": {"__int__": "2"}, "status": "ok"}})
         .encode(), EMPTY, "is not protocol version 1"),
        (_record(status="passed"), EMPTY, "the probe's record has no valid status"),
        (b"\xff\xfe{}", EMPTY, "a record is not UTF-8 text"),
    ],
}


def _mse_indices(exercise: Exercise) -> list[int]:
    """Positions of the plan's calls to `mse` that come before the first call to `cost`."""
    calls = exercise.load_grader().build_plan(0).calls
    first_cost = next(i for i, c in enumerate(calls) if c.function == "cost")
    return [i for i, c in enumerate(calls[:first_cost]) if c.function == "mse"]


def _at_mse_calls(exercise: Exercise, forgeries: list[Forgery]) -> dict[int, Forgery]:
    indices = _mse_indices(exercise)
    assert len(indices) >= len(forgeries), indices
    return dict(zip(indices, forgeries, strict=False))


def forging_cell(forgeries: dict[int, Forgery]) -> str:
    """A cell that wraps ``cost`` so that, on its first call by the probe (after the `mse`
    calls were written), it replaces their records in the probe's staging folder."""
    plain = {index: [data if isinstance(data, str) else base64.b64encode(data).decode()
                     for data in (js, npz)] for index, (js, npz, _) in forgeries.items()}
    return f'''
import base64 as _b64, glob as _glob, os as _os
_FORGED = {plain!r}
_real_cost, _forged = cost, []
def cost(*args, **kwargs):
    if not _forged:
        _forged.append(1)
        for stage in _glob.glob("../out/.staging-*") + _glob.glob("/sandbox/out/.staging-*"):
            for index, pair in _FORGED.items():
                for suffix, data in zip((".json", ".npz"), pair):
                    path = f"{{stage}}/probe/{{index}}{{suffix}}"
                    if _os.path.lexists(path):
                        _os.unlink(path)
                    if data == "LINK":
                        _os.symlink("/etc/passwd", path)
                    else:
                        with open(path, "wb") as handle:
                            handle.write(_b64.b64decode(data))
                        _os.chmod(path, 0o444)
    return _real_cost(*args, **kwargs)
'''


# Cells that plant forgeries in the results folder before the probe runs.
PLANT_CELL = '''
import json, os
for out in ("../out", "/sandbox/out"):
    if not os.path.isdir(out):
        continue
    os.makedirs(out + "/probe", exist_ok=True)
    for i in range(20):
        record = {"__dict__": {"id": "x", "protocol": {"__int__": "1"}, "status": "ok",
                               "value": 5.4, "seconds": 1e-6}}
        with open(f"{out}/probe/{i}.json", "w") as handle:
            json.dump(record, handle)
        os.chmod(f"{out}/probe/{i}.json", 0o444)
    os.symlink("/etc/passwd", out + "/probe/99.json")
    os.makedirs(out + "/execution.json.tmp", exist_ok=True)
    with open(out + "/execution.json", "w") as handle:
        json.dump({"status": "completed", "protocol": 1, "cell_errors": [{"cell": [1]}]},
                  handle)
    os.symlink("/", out + "/artifacts")
    os.chmod(out + "/probe", 0o500)
'''


def _grade(sandbox: Sandbox, exercise: Exercise, notebook: Any, folder: Path,
           **options: Any) -> GradeResult:
    path = folder / "mse.ipynb"
    nbformat.write(notebook, path)
    return grade(exercise=exercise, submission=path, sandbox=sandbox,
                 options=GradeOptions(**options))


def _outputs(result: GradeResult) -> dict[str, str]:
    return {t.name: t.output for t in result.tests}


def _check_forged(result: GradeResult, forgeries: dict[int, Forgery]) -> None:
    outputs = _outputs(result)
    for name in MSE_TESTS:
        assert UNREADABLE in outputs[name], (name, outputs[name])
    problems = [p for p in result.problems if p.code is ProblemCode.UNREADABLE_DATA]
    assert len(problems) == 1, result.problems
    for index, (_, _, what) in forgeries.items():
        assert re.search(what, problems[0].message), (index, what, problems[0].message)
    # The rest of the grade goes on: the cost calls' records were the probe's own.
    assert {t.name: t.status for t in result.tests}[COST_TEST] == "passed", outputs[COST_TEST]


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(FORGERIES))
def test_forged_probe_records_become_specific_failures(mse: Exercise, tmp_path: Path,
                                                       kind: str) -> None:
    forgeries = _at_mse_calls(mse, FORGERIES[kind])
    notebook = solution_with(mse, {}, extra_cells=[forging_cell(forgeries)])
    _check_forged(_grade(LocalSandbox(), mse, notebook, tmp_path), forgeries)


@pytest.mark.slow
def test_records_planted_before_the_probe_never_reach_the_judge(mse: Exercise,
                                                                tmp_path: Path) -> None:
    notebook = solution_with(mse, {}, extra_cells=[PLANT_CELL])
    result = _grade(LocalSandbox(), mse, notebook, tmp_path)
    assert result.score == result.max_score, _outputs(result)
    assert result.problems == []


# -- path oddities: refused at intake, per submission, with a message -----------------------

PATH_ODDITIES = {
    "long-name": (["a" * 300 + ".csv"], "file systems allow at most 255"),
    "deep": (["/".join(["d"] * 2000) + "/f"], "2000 folders deep"),
    "file-and-folder": (["data", "data/x.csv"], "is both a file and a folder"),
    "notebook-folder": (["mse.ipynb/x"], "where the notebook itself goes"),
    "long-path": (["/".join(["d" * 200] * 6)], "at most 1024 are accepted"),
}


@pytest.mark.parametrize("case", sorted(PATH_ODDITIES))
def test_path_oddities_end_in_a_result(mse: Exercise, tmp_path: Path, case: str) -> None:
    names, message = PATH_ODDITIES[case]
    path = tmp_path / "sub.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(mse.solution_path, "mse.ipynb")
        for name in names:
            archive.writestr(name, b"x")
    result = grade(exercise=mse, submission=path, sandbox=LocalSandbox())
    assert [p.code for p in result.problems] == [ProblemCode.SUBMISSION_REFUSED]
    assert message in result.problems[0].message
    assert result.score == 0 and all(t.status == "error" for t in result.tests)


def test_a_non_utf8_name_ends_in_a_result(mse: Exercise, tmp_path: Path) -> None:
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "mse.ipynb").write_bytes(mse.solution_path.read_bytes())
    Path(os.fsdecode(bytes(folder) + b"/caf\xe9.csv")).write_bytes(b"1")
    result = grade(exercise=mse, submission=folder, sandbox=LocalSandbox())
    assert [p.code for p in result.problems] == [ProblemCode.SUBMISSION_REFUSED]
    assert "is not UTF-8" in result.problems[0].message


# -- the CLI, with the grading process tree's peak memory measured ---------------------------

def _cli_grade(submission: Path, out: Path, *extra: str) -> tuple[int, dict[str, Any], int]:
    """Run ``autograder grade`` and sample the RSS of it and all its descendants."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "autograder", "grade", "mse", str(submission), "--sandbox",
         "local", "--out", str(out), *extra], env=env, cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        root = psutil.Process(process.pid)
        while not done.wait(0.02):
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for member in tree:
                try:
                    total += member.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            peak[0] = max(peak[0], total)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate(timeout=600)
    done.set()
    sampler.join()
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")[-3000:]
    return process.returncode, json.loads(out.read_text(encoding="utf-8")), peak[0]


@pytest.fixture(scope="module")
def honest_peak(tmp_path_factory: pytest.TempPathFactory, mse: Exercise) -> int:
    folder = tmp_path_factory.mktemp("honest")
    code, result, peak = _cli_grade(mse.solution_path, folder / "result.json", "--mode",
                                    "fast")
    assert code == 0 and result["score"] == result["max_score"]
    return peak


def _huge_cell_notebook(mse: Exercise, megabytes: float) -> nbformat.NotebookNode:
    """The solution plus a cell of ``megabytes`` of list literal (tokens that make
    ``ast.parse`` build millions of nodes), marked as training so the fast mode's kernel
    skips it: only the judge's static reading meets it."""
    count = int(megabytes * 2**20 / 2)
    cell = nbformat.v4.new_code_cell("x = [" + "0," * count + "]")
    cell.metadata["autograder"] = {"role": "training"}
    notebook = solution_with(mse, {})
    notebook.cells.append(cell)
    return notebook


@pytest.mark.slow
def test_a_huge_cell_fails_the_vectorization_checks_within_memory(
        mse: Exercise, tmp_path: Path, honest_peak: int) -> None:
    path = tmp_path / "mse.ipynb"
    nbformat.write(_huge_cell_notebook(mse, 18.8), path)
    assert path.stat().st_size < 20 * 2**20  # under the notebook size limit
    code, result, peak = _cli_grade(path, tmp_path / "result.json", "--mode", "fast")
    assert code == 0
    vectorized = {t["name"]: t for t in result["tests"] if "vectorized" in t["name"]}
    assert vectorized and all(t["status"] == "failed" for t in vectorized.values())
    for test in vectorized.values():
        assert "is 18.8 MB; the grader reads at most 0.25 MB of source" in test["output"]
    assert any(p["code"] == "source-too-large" for p in result["problems"])
    assert peak < honest_peak + MEMORY_BOUND, (peak / 2**20, honest_peak / 2**20)


@pytest.mark.slow
def test_header_bombs_and_huge_integers_end_in_a_result_within_memory(
        mse: Exercise, tmp_path: Path, honest_peak: int) -> None:
    bomb = (ARRAY, _npz({"a0.npy": _npy_header((2**40,)) + b"\0" * 64}), "over the")
    huge = (_record(value={"__int__": "9" * 5000}, seconds={"__int__": "9" * 400}), EMPTY,
            "short decimal")
    forgeries = _at_mse_calls(mse, [bomb, huge, bomb, huge, bomb])
    path = tmp_path / "mse.ipynb"
    nbformat.write(solution_with(mse, {}, extra_cells=[forging_cell(forgeries)]), path)
    code, data, peak = _cli_grade(path, tmp_path / "result.json", "--mode", "fast")
    assert code == 0
    _check_forged(GradeResult.from_dict(data), forgeries)
    assert peak < honest_peak + MEMORY_BOUND, (peak / 2**20, honest_peak / 2**20)


# -- the Docker sandbox ----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.docker
def test_forgeries_in_the_docker_sandbox_end_in_specific_results(mse: Exercise,
                                                                 tmp_path: Path) -> None:
    from tests.docker_support import connect

    box = connect()
    try:
        forgeries = _at_mse_calls(mse, FORGERIES["markers"])
        notebook = solution_with(mse, {}, extra_cells=[PLANT_CELL, forging_cell(forgeries)])
        result = _grade(box, mse, notebook, tmp_path)
    finally:
        box.close()
    _check_forged(result, forgeries)


def test_the_protocol_imports_without_the_judge_or_tensorflow() -> None:
    # Imported inside the student's kernel too: NumPy and the standard library only.
    code = ("import sys, autograder.protocol.call, autograder.protocol.execution, "
            "autograder.protocol.actions, autograder.protocol.done; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'autograder.judge') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)
    assert out.stdout.strip() == "[]"


# -- the execution record, the staging folder and the pipeline's contract (no kernel) --------

FORGED_EXECUTIONS = {
    "not json": (b"{", "not valid JSON"),
    "no version": (b'{"status": "completed"}', "not protocol version 1"),
    "unhashable status": (b'{"protocol": 1, "status": ["completed"]}', "no valid status"),
    "judge-only status": (b'{"protocol": 1, "status": "not-run"}', "no valid status"),
    "huge cell index": (b'{"protocol": 1, "status": "running", "current_cell": '
                        + b"9" * 5000 + b"}", "more than 1000 digits"),
    "cell error of the wrong type": (b'{"protocol": 1, "status": "completed", "cell_errors": '
                                     b'[{"cell": "1"}]}', "cell error's cell"),
    "deep": (b'{"protocol": 1, "status": "completed", "message": [[[[[]]]]]}', "nests deeper"),
    "message not text": (b'{"protocol": 1, "status": "completed", "message": 5}', "not text"),
    "flag not bool": (b'{"protocol": 1, "status": "completed", "output_truncated": "yes"}',
                      "not true or false"),
}


@pytest.mark.parametrize("case", sorted(FORGED_EXECUTIONS))
def test_a_forged_execution_record_is_unreadable_not_an_exception(tmp_path: Path,
                                                                  case: str) -> None:
    data, what = FORGED_EXECUTIONS[case]
    (tmp_path / "execution.json").write_bytes(data)
    record = ExecutionRecord.read(tmp_path)
    assert record.status is ExecutionStatus.NOT_RUN
    assert what in record.unreadable and UNREADABLE.capitalize() in record.message


def test_execution_records_round_trip_and_a_planted_folder_cannot_block_them(
        tmp_path: Path) -> None:
    (tmp_path / "execution.json").mkdir()  # planted where the runner writes
    record = ExecutionRecord(status=ExecutionStatus.RUNNING, current_cell=3)
    record.write(tmp_path)
    back = ExecutionRecord.read(tmp_path)
    assert back.status is ExecutionStatus.RUNNING and back.message == "The notebook was " \
        "stopped in cell 4."
    assert ExecutionRecord.read(tmp_path / "nothing").status is ExecutionStatus.NOT_RUN


def test_call_records_round_trip_and_keep_unknown_plain_fields(tmp_path: Path) -> None:
    CallRecord.write(tmp_path, 0, "c", {"status": "ok", "value": (1, 2.5), "seconds": 0.25,
                                        "mutated_args": [1], "work": 12})
    CallRecord.write(tmp_path, 1, "d", {"status": "ok", "value": object()})
    first = CallRecord.read(tmp_path, 0, ArrayBudget(10**6))
    assert first == CallRecord(CallStatus.OK, value=(1, 2.5), seconds=0.25, mutated_args=(1,),
                               extra={"work": 12})
    second = CallRecord.read(tmp_path, 1, ArrayBudget(10**6))
    assert second.status is CallStatus.NOT_PLAIN and "not plain data" in second.error
    assert CallRecord.read(tmp_path, 2, ArrayBudget(10**6)).status is CallStatus.NOT_RUN


def test_promotion_keeps_only_what_the_probe_staged(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "probe").mkdir(parents=True)
    (out / "probe" / "0.json").write_text("forged before the probe")
    os.symlink("/", out / "artifacts")
    stage = staging.create(out)
    (stage / "probe").mkdir()
    (stage / "probe" / "0.json").write_text("staged")
    os.symlink("/etc/passwd", stage / "probe" / "1.json")
    (stage / "probe" / "deeper").mkdir()
    (stage / "artifacts" / "model").mkdir(parents=True)
    (stage / "artifacts" / "model" / "m.keras").write_bytes(b"weights")
    os.symlink("/etc", stage / "artifacts" / "other")
    os.chmod(out, 0o500)  # the kernel locked the results folder
    staging.promote(stage, out)
    assert (out / "probe" / "0.json").read_text() == "staged"
    assert sorted(p.name for p in (out / "probe").iterdir()) == ["0.json"]
    assert not (out / "artifacts").is_symlink()
    assert sorted(p.name for p in (out / "artifacts").iterdir()) == ["model"]
    assert (out / "artifacts" / "model" / "m.keras").read_bytes() == b"weights"
    assert not stage.exists()


def test_promotion_keeps_only_the_kernel_users_files(tmp_path: Path) -> None:
    # Where the kernel runs as its own user (as root here: nobody), only its files count.
    kernel = 65534 if os.getuid() == 0 else os.getuid()
    out = tmp_path / "out"
    out.mkdir()
    stage = staging.create(out, owner=kernel)
    assert stage.stat().st_uid == kernel
    (stage / "probe").mkdir()
    (stage / "probe" / "0.json").write_text("kernel's")
    (stage / "probe" / "1.json").write_text("someone else's")
    for path in (stage / "probe", stage / "probe" / "0.json"):
        os.chown(path, kernel, -1)
    staging.promote(stage, out, owner=kernel)
    kept = sorted(p.name for p in (out / "probe").iterdir())
    assert kept == (["0.json"] if kernel != os.getuid() else ["0.json", "1.json"])


class _ScriptedSandbox(Sandbox):
    """Stands in for a compromised runner: writes the given files into out/ and reports
    a normal exit, so the judge's side meets them exactly as the sandbox left them."""

    name = "scripted"
    isolated = False

    def __init__(self, files: dict[str, bytes], fail: bool = False) -> None:
        self.files, self.fail = files, fail

    def run(self, job: SandboxJob) -> SandboxOutcome:
        if self.fail:
            raise ConnectionError("the engine went away")
        for name, data in self.files.items():
            (job.out_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (job.out_dir / name).write_bytes(data)
        return SandboxOutcome(exit_code=0, seconds=0.1, log_tail="runner said hello")


def test_a_forged_execution_record_is_a_graded_result_not_a_machine_failure(
        mse: Exercise) -> None:
    from autograder.batch.failures import sandbox_failure

    forged = {"execution.json": b'{"protocol": 1, "status": "completed", "cell_errors": '
                                b'[{"cell": ' + b"9" * 5000 + b"}]}",
              "probe/0.json": b'{"__dict__": {"protocol": {"__int__": "1"}, "status": '
                              b'{"__dict__": {}}}}'}
    result = grade(exercise=mse, submission=mse.solution_path, sandbox=_ScriptedSandbox(forged))
    codes = [p.code for p in result.problems]
    assert ProblemCode.UNREADABLE_DATA in codes and ProblemCode.SANDBOX_NO_REPORT not in codes
    assert "more than 1000 digits" in result.errors[0]
    assert sandbox_failure(result) is None  # graded and cached, not retried forever
    assert result.sandbox_log == "runner said hello"
    assert UNREADABLE in _outputs(result)[MSE_TESTS[0]]
    assert GradeResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_only_infrastructure_faults_escape_grade(mse: Exercise) -> None:
    with pytest.raises(InfrastructureError, match="the engine went away"):
        grade(exercise=mse, submission=mse.solution_path, sandbox=_ScriptedSandbox({}, True))
    silent = grade(exercise=mse, submission=mse.solution_path, sandbox=_ScriptedSandbox({}))
    assert [p.code for p in silent.problems] == [ProblemCode.SANDBOX_NO_REPORT]


def test_the_cli_exits_0_for_a_refused_submission(tmp_path: Path) -> None:
    path = tmp_path / "sub.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mse.ipynb", "{}")
        archive.writestr("a" * 300, b"x")
    out = tmp_path / "result.json"
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", "mse", str(path),
                           "--sandbox", "local", "--out", str(out)], cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["problems"][0]["code"] == "submission-refused"


def test_every_action_kind_has_a_probe_side_and_a_judge_side() -> None:
    from autograder.protocol.actions import VALUE_CHECKS, ActionKind
    from autograder.runner.probe import ACTIONS

    assert set(ACTIONS) == set(ActionKind) == set(VALUE_CHECKS)


@pytest.mark.parametrize(("kind", "value", "what"), [
    ("file", {"name": "../x.keras", "size": 1, "mtime": 1.0}, "names no plain file"),
    ("file", {"name": "m.keras", "size": -1, "mtime": 1.0}, "file's size"),
    ("file", {"name": "m.keras", "size": 1, "mtime": float("nan")}, "time is not a number"),
    ("file", ["m.keras"], "not a record"),
    ("attributes", {"attributes": [1]}, "attributes is not a record"),
    ("attributes", {"attributes": {}, "missing": "scale_"}, "too long"),
    ("history", {"loss": [0.5, 0.4]}, "not one number per epoch"),
    ("history", {f"m{i}": np.zeros(2) for i in range(60)}, "too many metrics"),
])
def test_action_values_of_the_wrong_shape_are_refused(kind: str, value: Any,
                                                      what: str) -> None:
    from autograder.plaindata import PlainDataError
    from autograder.protocol.actions import VALUE_CHECKS, ActionKind

    with pytest.raises(PlainDataError, match=what):
        VALUE_CHECKS[ActionKind(kind)](value)
