"""From an instructor's solution notebook to the student's template.

Solution code sits between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines inside
cells; the student version replaces each region with a stub (templates/notebook/stub.py.j2)
at the same indentation. Cells carry ``metadata.autograder.role``:

* ``check-helper`` – its source is regenerated from templates/notebook/check_helper.py.j2;
* ``instructor`` – dropped from the student version;
* ``training`` – kept, and skipped by ``--mode fast`` when grading;
* ``evaluation`` – kept, and skipped by ``--mode fast``: the given cell that loads the saved
  model and reports its accuracy on the public test set. It must define nothing the grader
  reads (the public checks after it fail softly when it did not run);
* ``grading-note`` – regenerated from the grader's test list;
* ``submit`` – the last cell, packing the hand-in zip; added when missing and always
  regenerated from templates/notebook/submit.py.j2.
"""

from __future__ import annotations

import re
from typing import Any

import nbformat
from nbformat import NotebookNode

from autograder.exercises import Exercise
from autograder.release.submit_cell import submit_cell_source
from autograder.templating import render

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
FORMAT_VERSION = 1


class NotebookFormatError(ValueError):
    pass


def role(cell: NotebookNode) -> str:
    return str(cell.get("metadata", {}).get("autograder", {}).get("role", ""))


def strip_solutions(source: str, name: str) -> str:
    """Replace every solution region in ``source`` with a stub."""
    lines = source.split("\n")
    result: list[str] = []
    inside: str | None = None
    for number, line in enumerate(lines, start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if inside is not None:
                raise NotebookFormatError(f"{name}: nested BEGIN SOLUTION on line {number}")
            inside = begin.group("indent")
        elif end:
            if inside is None:
                raise NotebookFormatError(f"{name}: END SOLUTION without BEGIN on line {number}")
            result.extend(render("notebook/stub.py.j2", indent=inside, name=name).rstrip("\n")
                          .split("\n"))
            inside = None
        elif inside is None:
            result.append(line)
    if inside is not None:
        raise NotebookFormatError(f"{name}: BEGIN SOLUTION without END SOLUTION")
    return "\n".join(result)


def has_solution(source: str) -> bool:
    return any(BEGIN.match(line) for line in source.split("\n"))


def _clean(cell: NotebookNode) -> NotebookNode:
    """Drop outputs and editor metadata so the file only changes when its content does."""
    kept = {k: v for k, v in cell.get("metadata", {}).items() if k in ("autograder", "tags")}
    cell["metadata"] = kept
    if cell.cell_type == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    return cell


def normalize(notebook: NotebookNode, exercise: Exercise, grading_note: str) -> NotebookNode:
    """Regenerate the generated cells and stable metadata of a solution notebook."""
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"{exercise.id}-{index:02d}"
        if role(cell) == "check-helper":
            cell["source"] = render("notebook/check_helper.py.j2").rstrip("\n")
        elif role(cell) == "grading-note":
            cell["source"] = grading_note.rstrip("\n")
        _clean(cell)
    notebook.cells = [c for c in notebook.cells if role(c) != "submit"]
    submit = nbformat.v4.new_code_cell(submit_cell_source(exercise))
    submit["metadata"] = {"autograder": {"role": "submit"}}
    submit["id"] = f"{exercise.id}-submit"
    notebook.cells.append(submit)
    notebook["metadata"] = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "autograder": {"exercise": exercise.id, "format": FORMAT_VERSION},
    }
    notebook["nbformat"], notebook["nbformat_minor"] = 4, 5
    return notebook


def student_version(solution: NotebookNode) -> NotebookNode:
    student = nbformat.reads(nbformat.writes(solution), as_version=4)
    cells = []
    for cell in student.cells:
        if role(cell) == "instructor":
            continue
        if cell.cell_type == "code" and has_solution(cell.source):
            cell["source"] = strip_solutions(cell.source, _cell_name(cell))
        cells.append(cell)
    student.cells = cells
    return student


def _cell_name(cell: NotebookNode) -> str:
    meta: dict[str, Any] = cell.get("metadata", {}).get("autograder", {})
    return str(meta.get("id", "this cell"))


def dumps(notebook: NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"
