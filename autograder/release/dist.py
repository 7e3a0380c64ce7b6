"""``release --out DIR``: everything a course needs, validated first, byte-reproducible.

    DIR/student/<id>.zip          notebook, visible data, tests/*.py (otter format)
    DIR/student/course.zip        all exercises' student folders
    DIR/otter/<id>/tests/*.py     the public checks for staff who use otter-grader
    DIR/gradescope/<id>.zip       Gradescope autograder (setup.sh, run_autograder, …)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from autograder.exercises import Exercise
from autograder.release.bundles import otter_tests, write_course_bundle, write_student_bundle
from autograder.release.gradescope_zip import write_gradescope_zip


class ReleaseRefusedError(RuntimeError):
    """An exercise failed validation; nothing was written."""


def write_dist(exercises: list[Exercise], out: Path) -> list[Path]:
    written = []
    for exercise in exercises:
        written.append(write_student_bundle(exercise, out / "student" / f"{exercise.id}.zip"))
        otter_folder = out / "otter" / exercise.id
        if otter_folder.exists():
            shutil.rmtree(otter_folder)
        for name, text in otter_tests(exercise).items():
            target = otter_folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.append(target)
        written.append(write_gradescope_zip(exercise, out / "gradescope" / f"{exercise.id}.zip"))
    written.append(write_course_bundle(exercises, out / "student" / "course.zip"))
    return written
