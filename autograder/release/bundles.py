"""Student bundles: the notebook, the data the student may see, and the public checks
(also in otter-grader's format under tests/), one zip per exercise and one for the course."""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.exercises import Exercise
from autograder.release.assignments import student_notebook_text
from autograder.release.public_checks import otter_test_file, public_tests
from autograder.release.reproducible import Entry, write_zip


def otter_tests(exercise: Exercise) -> dict[str, str]:
    """``tests/<name>.py`` files (OK format) from the released notebook's check cells."""
    notebook = nbformat.reads(student_notebook_text(exercise), as_version=4)
    return {f"tests/{test.name}.py": otter_test_file(test) for test in public_tests(notebook)}


def student_entries(exercise: Exercise) -> list[Entry]:
    folder = exercise.id
    entries = [Entry(f"{folder}/{exercise.id}.ipynb", student_notebook_text(exercise).encode())]
    entries += [Entry(f"{folder}/{path.name}", path.read_bytes())
                for path in exercise.data_paths()]
    entries += [Entry(f"{folder}/{name}", text.encode())
                for name, text in otter_tests(exercise).items()]
    return entries


def write_student_bundle(exercise: Exercise, out: Path) -> Path:
    return write_zip(out, student_entries(exercise))


def write_course_bundle(exercises: list[Exercise], out: Path) -> Path:
    return write_zip(out, [entry for exercise in exercises
                           for entry in student_entries(exercise)])
