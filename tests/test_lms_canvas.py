"""Canvas: gradebook CSV in Canvas's shape, roster matching, and a push against a local
server that implements the Canvas endpoints canvasapi calls."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from autograder.cli import run as cli
from autograder.commands import canvas as canvas_command
from autograder.lms.canvas import CanvasAssignment
from autograder.lms.roster import Roster
from autograder.results import GradeResult
from autograder.results import TestResult as Outcome
from tests.lms_servers import Received, Recorder, serve

pytestmark = pytest.mark.filterwarnings("ignore:Canvas may respond unexpectedly:UserWarning")

TOKEN = "canvas-test-token-5521"
COURSE, ASSIGNMENT = 42, 1234
ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,Email
    Points Possible,,,,,
"Lovelace, Ada",1001,S-1,alovelace,ML 1,ada@example.edu
"Turing, Alan",1002,S-2,aturing,ML 1,alan@example.edu
"Hopper, Grace",1003,S-3,ghopper,ML 2,grace@example.edu
"Noether, Emmy",1004,S-4,enoether,ML 2,emmy@example.edu
"""
GRADESCOPE_METADATA = """\
submission_88001:
  :submitters:
  - :name: Grace Hopper
    :sid: S-3
    :email: grace@example.edu
  :created_at: 2024-05-01 10:00:00.000000000 +00:00
"""


def write_result(folder: Path, submission: str, scores: list[float]) -> Path:
    tests = [Outcome(f"test {i}", s, 5, "passed" if s == 5 else "failed", "msg")
             for i, s in enumerate(scores)]
    result = GradeResult.from_tests("mse", tests, execution_time=1.0,
                                    metadata={"submission": submission})
    path = folder / f"{len(list(folder.iterdir()))}.json"
    path.write_text(json.dumps(result.to_dict()), encoding="utf-8")
    return path


@pytest.fixture()
def course(tmp_path: Path) -> dict[str, Path]:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    metadata = tmp_path / "submission_metadata.yml"
    metadata.write_text(GRADESCOPE_METADATA, encoding="utf-8")
    results = tmp_path / "results"
    results.mkdir()
    write_result(results, "lovelaceada_1001_555001_mse.ipynb", [5, 5, 5])       # Canvas
    write_result(results, "turingalan_LATE_1002_555002_mse-1.ipynb", [5, 0, 2])  # late
    write_result(results, "turingalan_1002_555000_mse.ipynb", [0, 0, 0])        # worse, older
    write_result(results, "submission_88001", [5, 5, 0])                         # Gradescope
    write_result(results, "stranger_9999_1_mse.ipynb", [5, 5, 5])                # not enrolled
    return {"roster": roster, "metadata": metadata, "results": results}


def test_roster_matches_canvas_and_gradescope_export_names(course: dict[str, Path]) -> None:
    roster = Roster.read(course["roster"], course["metadata"])
    assert len(roster.students) == 4  # the Points Possible row is not a student
    assert roster.find("lovelaceada_1001_555001_mse.ipynb").sis_login_id == "alovelace"
    assert roster.find("turingalan_LATE_1002_555002_x.ipynb").name == "Turing, Alan"
    assert roster.find("submission_88001").name == "Hopper, Grace"
    assert roster.find("submission_88001/mse.ipynb").name == "Hopper, Grace"
    assert roster.find("enoether.ipynb").canvas_id == "1004"
    assert roster.find("stranger_9999_1_mse.ipynb") is None
    assert roster.find("submission_123") is None
    # grade-batch's folder for a Canvas student, and its result file, name the user id.
    assert roster.find("lovelaceada_1001").name == "Lovelace, Ada"
    assert roster.find("turingalan_1002.json").name == "Turing, Alan"
    assert roster.find("lovelaceada_9999") is None


def test_gradebook_csv_has_canvas_import_shape(course: dict[str, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "grades.csv"
    code = cli(["canvas", "gradebook", str(course["results"]), "--roster", str(course["roster"]),
                "--gradescope-metadata", str(course["metadata"]),
                "--assignment", f"mse={ASSIGNMENT}", "--out", str(out)])
    assert code == 0
    assert "no roster entry for submission 'stranger_9999_1_mse.ipynb'" in capsys.readouterr().err
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    column = f"Mean-square error and the linear-regression cost ({ASSIGNMENT})"
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column]
    assert rows[1] == ["    Points Possible", "", "", "", "", "15"]
    grades = {row[0]: row[5] for row in rows[2:]}
    assert grades == {"Hopper, Grace": "10", "Lovelace, Ada": "15", "Noether, Emmy": "",
                      "Turing, Alan": "7"}
    # Canvas re-imports what it exports: the written file works as a roster again.
    again = Roster.read(out)
    assert [s.canvas_id for s in again.students] == ["1003", "1001", "1004", "1002"]


def canvas_routes(recorder: Recorder, points_possible: float) -> object:
    prefix = f"/api/v1/courses/{COURSE}"

    def route(request: Received) -> tuple[int, dict[str, object], str]:
        assert request.headers.get("Authorization") == f"Bearer {TOKEN}", "bad token"
        assert request.headers.get("User-Agent", "").startswith("python-canvasapi/")
        path = request.path.split("?")[0]
        if request.method == "GET" and path == prefix:
            return 200, {"id": COURSE, "name": "ML workshop"}, "application/json"
        if request.method == "GET" and path == f"{prefix}/assignments/{ASSIGNMENT}":
            return 200, {"id": ASSIGNMENT, "course_id": COURSE, "name": "MSE",
                         "points_possible": points_possible}, "application/json"
        match = re.fullmatch(rf"{prefix}/assignments/{ASSIGNMENT}/submissions/(\d+)", path)
        assert match, f"unexpected endpoint {request.method} {path}"
        user = int(match.group(1))
        assert user in (1001, 1002, 1003, 1004), f"unknown user {user}"
        if request.method == "GET":
            return 200, {"id": 70000 + user, "user_id": user, "assignment_id": ASSIGNMENT,
                         "course_id": COURSE}, "application/json"
        assert request.method == "PUT", f"unexpected method {request.method}"
        assert request.headers.get("Content-Type") == "application/x-www-form-urlencoded"
        form = parse_qs(request.body.decode())
        assert set(form) == {"submission[posted_grade]", "comment[text_comment]"}, form
        float(form["submission[posted_grade]"][0])
        return 200, {"id": 70000 + user, "user_id": user, "assignment_id": ASSIGNMENT,
                     "score": float(form["submission[posted_grade]"][0])}, "application/json"

    return route


def test_push_is_a_dry_run_by_default(course: dict[str, Path],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CANVAS_API_TOKEN", raising=False)
    recorder = Recorder()
    with serve(canvas_routes(recorder, 15), recorder) as url:
        report = canvas_command.push(
            results=[course["results"]], roster=course["roster"],
            gradescope_metadata=course["metadata"], url=url, course=COURSE,
            assignments=[CanvasAssignment("mse", ASSIGNMENT, "MSE")])
    assert report.dry_run and not report.sent and len(report.planned) == 3
    assert recorder.requests == []


def test_push_with_apply_sends_scaled_grades_and_comments(
        course: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANVAS_API_TOKEN", TOKEN)
    recorder = Recorder()
    with serve(canvas_routes(recorder, 10), recorder) as url:
        code = cli(["canvas", "push", str(course["results"]), "--roster", str(course["roster"]),
                    "--gradescope-metadata", str(course["metadata"]), "--url", url,
                    "--course", str(COURSE), "--assignment", f"mse={ASSIGNMENT}:10",
                    "--apply"])
    assert code == 0
    assert recorder.problems == []
    puts = {r.path.rsplit("/", 1)[1]: parse_qs(r.body.decode())
            for r in recorder.requests if r.method == "PUT"}
    # Scores are scaled to the assignment's 10 points: 15/15 → 10, 7/15 → 4.6667, 10/15.
    assert {user: form["submission[posted_grade]"][0] for user, form in puts.items()} == {
        "1001": "10", "1002": "4.6667", "1003": "6.6667"}
    assert puts["1002"]["comment[text_comment]"][0].startswith(
        "Autograder: 7 / 15 on mse. Not yet passing: test 1; test 2.")
    methods = [(r.method, r.path.split("?")[0].rsplit("/", 2)[-2:]) for r in recorder.requests]
    assert methods[0] == ("GET", ["courses", str(COURSE)])
    assert methods[1] == ("GET", ["assignments", str(ASSIGNMENT)])  # fetched once
    assert len(recorder.requests) == 2 + 2 * 3


def test_push_refuses_without_a_token(course: dict[str, Path],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CANVAS_API_TOKEN", raising=False)
    code = cli(["canvas", "push", str(course["results"]), "--roster", str(course["roster"]),
                "--url", "http://127.0.0.1:9", "--course", "1", "--assignment", "mse=1",
                "--apply"])
    assert code == 2
