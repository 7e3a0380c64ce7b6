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
