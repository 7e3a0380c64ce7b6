"""Batch intake degrades per student: LMS-export oddities skip one submission with a reason
(or keep the newest Canvas attempt), never refuse the class or crash discovery."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from autograder.batch.discovery import discover
from autograder.batch.exports import CANVAS_ATTACHMENTS
from tests.batch_support import ROOT, cli_env, grade_batch_command

NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def _notebook(tag: str) -> str:
    return json.dumps({"cells": [], "metadata": {"tag": tag}, "nbformat": 4,
                       "nbformat_minor": 5})


def _zip(path: Path, members: list[tuple[str, str]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members:
            archive.writestr(name, text)
    return path


def test_canvas_late_resubmissions_grade_the_newest_attempt(tmp_path: Path) -> None:
    export = _zip(tmp_path / "submissions.zip", [
        ("doejane_12_901_mse.ipynb", _notebook("first")),
        ("doejane_12_902_data.csv", "x,y\n"),
        ("doejane_LATE_12_990_mse-2.ipynb", _notebook("third")),
        ("doejane_late_12_950_mse-1.ipynb", _notebook("second")),
        ("doejane_LATE_12_960_mse.ipynb", _notebook("same name as the first")),
        ("roekim_34_903_mse.ipynb", _notebook("kim")),
    ])
    found = discover(export, tmp_path / "unpacked")
    assert found.export == "canvas"
    by_id = {s.id: s.path for s in found.submissions}
    assert sorted(by_id) == ["doejane_12", "roekim_34"]
    jane = by_id["doejane_12"]
    assert sorted(p.name for p in jane.iterdir()) == ["data.csv", "mse.ipynb"]
    assert json.loads((jane / "mse.ipynb").read_text())["metadata"]["tag"] == "third"
    superseded = [s for s in found.skipped if "earlier attempt" in s]
    assert len(superseded) == 3 and all("attachment 990 is graded" in s for s in superseded)
    kept = json.loads((tmp_path / "unpacked" / CANVAS_ATTACHMENTS).read_text())
    assert kept["doejane_12"] == {"data.csv": 902, "mse.ipynb": 990}


def test_odd_names_in_an_export_skip_only_their_submission(tmp_path: Path) -> None:
    export = _zip(tmp_path / "export.zip", [
        ("submission_1/mse.ipynb", NOTEBOOK),                      # fine
        ("submission_2/my:notebook.ipynb", NOTEBOOK),              # ':' is fine on Linux
        ("submission_3/" + "n" * 300 + ".ipynb", NOTEBOOK),        # over NAME_MAX
        ("submission_4/data", "a file"),                           # file and folder
        ("submission_4/data/x.csv", "and a folder"),
        ("submission_5/mse.ipynb", NOTEBOOK),                      # the same entry twice
        ("submission_5/mse.ipynb", NOTEBOOK),
        ("C:/Users/x/mse.ipynb", NOTEBOOK),                        # a drive letter
        ("submission_6/ctrl\x07.ipynb", NOTEBOOK),                 # a control character
    ])
    found = discover(export, tmp_path / "unpacked")
    assert [s.id for s in found.submissions] == ["submission_1", "submission_2"]
    reasons = {line.split(" ", 1)[0]: line for line in found.skipped}
    assert "too long" in reasons["submission_3"].lower()
    assert "submission_4" in reasons and "submission_5" in reasons
    assert "submission_6" in reasons and "control character" in reasons["submission_6"]
    assert any(line.startswith("C:/Users/x/mse.ipynb") for line in found.skipped)
    json.dumps(found.skipped).encode("utf-8")  # every reason can be written out


def test_a_stray_file_in_a_canvas_export_is_skipped_not_fatal(tmp_path: Path) -> None:
    export = _zip(tmp_path / "submissions.zip", [
        ("doejane_12_901_mse.ipynb", NOTEBOOK), ("roekim_34_903_mse.ipynb", NOTEBOOK),
        ("readme.txt", "exported by the LMS"),
    ])
    found = discover(export, tmp_path / "unpacked")
    assert found.export == "canvas"
    assert [s.id for s in found.submissions] == ["doejane_12", "roekim_34"]
    assert [s for s in found.skipped if s.startswith("readme.txt")]


def test_non_utf8_names_are_handled(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    raw = os.fsencode(folder)
    os.mkdir(raw + b"/caf\xe9")
    with open(raw + b"/caf\xe9/mse.ipynb", "w", encoding="utf-8") as handle:
        handle.write(NOTEBOOK)
    with open(raw + b"/\xff\xfe.ipynb", "w", encoding="utf-8") as handle:
        handle.write(NOTEBOOK)
    with open(raw + b"/notes\xff.txt", "w", encoding="utf-8") as handle:
        handle.write("not a submission")
    found = discover(folder, tmp_path / "unused")
    ids = sorted(s.id for s in found.submissions)
    assert ids == ["caf", "submission"]
    assert found.skipped == ["notes\ufffd.txt"]
    json.dumps(found.skipped, ensure_ascii=False).encode("utf-8")


def test_an_unreadable_export_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    export = _zip(tmp_path / "export.zip", [("submission_1/mse.ipynb", NOTEBOOK)])
    data = bytearray(export.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    data[central:central + 4] = b"XXXX"  # still looks like a zip; the directory is broken
    export.write_bytes(bytes(data))
    out = tmp_path / "out"
    done = subprocess.run(grade_batch_command("mse", export, out), env=cli_env(),
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "not a readable zip" in done.stderr


@pytest.mark.parametrize("login", ["=HYPERLINK(1)", "@SUM(A1)"])
def test_canvas_names_may_hold_formula_characters(tmp_path: Path, login: str) -> None:
    export = _zip(tmp_path / "submissions.zip", [(f"{login}_12_901_mse.ipynb", NOTEBOOK),
                                                 ("roekim_34_903_mse.ipynb", NOTEBOOK)])
    found = discover(export, tmp_path / "unpacked")
    assert found.export == "canvas"
    assert any(p[0].name == login for p in found.submitters.values())
