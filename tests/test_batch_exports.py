"""grade-batch on a Gradescope export zip: every submission graded, and the gradebook says
who handed each one in."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from tests.batch_support import ROOT, gradescope_metadata, run_grade_batch

METADATA = gradescope_metadata({
    "submission_501": [("Jane Doe", "1001", "jane@uni.edu")],
    "submission_502": [("Kim Roe", "1002", "kim@uni.edu"), ("Al Smith", "1003", "al@uni.edu")],
})


def test_gradescope_export_gradebook_names_the_submitters(tmp_path: Path) -> None:
    solution = (ROOT / "solutions" / "mse" / "mse.ipynb").read_bytes()
    blank = (ROOT / "assignments" / "mse" / "mse.ipynb").read_bytes()
    export = tmp_path / "export.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr("assignment_9_export/submission_metadata.yml", METADATA)
        archive.writestr("assignment_9_export/submission_501/mse.ipynb", solution)
        archive.writestr("assignment_9_export/submission_502/mse.ipynb", blank)

    done = run_grade_batch("mse", export, tmp_path / "out", "--workers", "1")
    assert done.returncode == 0, done.stderr

    rows = {row["submission"]: row for row in csv.DictReader(io.StringIO(
        (tmp_path / "out" / "gradebook.csv").read_text(encoding="utf-8")))}
    assert sorted(rows) == ["submission_501", "submission_502"]
    jane, group = rows["submission_501"], rows["submission_502"]
    assert (jane["students"], jane["emails"], jane["student_ids"]) == (
        "Jane Doe", "jane@uni.edu", "1001")
    assert (group["students"], group["student_ids"]) == ("Kim Roe; Al Smith", "1002; 1003")
    assert float(jane["score"]) > 0 and float(group["score"]) == 0


def test_an_odd_canvas_export_grades_everyone_it_can(tmp_path: Path) -> None:
    """Late attempts (the newest is graded), a ':' in a file name, a name over NAME_MAX, a
    stray file and a login that starts like a formula: exit 0, a result for each student
    who can be graded, a reason for the one who cannot, a gradebook with no formula."""
    solution = (ROOT / "solutions" / "mse" / "mse.ipynb").read_bytes()
    blank = (ROOT / "assignments" / "mse" / "mse.ipynb").read_bytes()
    export = tmp_path / "submissions.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr("doejane_11_901_mse.ipynb", blank)           # first attempt
        archive.writestr("doejane_LATE_11_950_mse.ipynb", solution)   # the newest: graded
        archive.writestr("roekim_12_902_my:answer.ipynb", blank)
        archive.writestr("smithal_13_903_" + "n" * 300 + ".ipynb", solution)
        archive.writestr("=cmd|calc!A1_14_904_mse.ipynb", blank)
        archive.writestr("readme.txt", "exported by the LMS")

    out = tmp_path / "out"
    done = run_grade_batch("mse", export, out, "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    results = sorted(p.stem for p in (out / "results").glob("*.json"))
    assert results == ["cmd_calc_A1_14", "doejane_11", "roekim_12"]
    rows = {row["submission"]: row for row in csv.DictReader(io.StringIO(
        (out / "gradebook.csv").read_text(encoding="utf-8")))}
    assert float(rows["doejane_11"]["score"]) == float(rows["doejane_11"]["max_score"])
    assert rows["cmd_calc_A1_14"]["students"] == "'=cmd|calc!A1"
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "smithal\\_13" in summary and "too long" in summary.lower()
    assert "earlier attempt" in summary and "readme.txt" in summary
