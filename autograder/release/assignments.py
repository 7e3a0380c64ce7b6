"""Writing the student templates (assignments/) from the solutions (solutions/)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from autograder.exercises import Exercise
from autograder.release.student_notebook import dumps, normalize, student_version
from autograder.templating import render


def grading_note(exercise: Exercise) -> str:
    grader = exercise.load_grader()
    return render("notebook/grading_note.md.j2",
                  tests=[{"name": t.name, "points": t.points} for t in grader.tests],
                  total=grader.max_score, required_files=list(exercise.required_files))


def student_notebook_text(exercise: Exercise) -> str:
    """The student's notebook for ``exercise``, exactly as released."""
    solution = nbformat.read(exercise.solution_path, as_version=4)
    normalize(solution, exercise, grading_note(exercise))
    return dumps(student_version(solution))


def release_assignment(exercise: Exercise, out_root: Path) -> list[Path]:
    """Regenerate ``out_root/<id>/``: the notebook and the data the student may see."""
    folder = out_root / exercise.id
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    notebook = folder / f"{exercise.id}.ipynb"
    notebook.write_text(student_notebook_text(exercise), encoding="utf-8")
    written = [notebook]
    for path in exercise.data_paths():
        target = folder / path.name
        shutil.copyfile(path, target)
        written.append(target)
    return written
