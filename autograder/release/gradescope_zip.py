"""A Gradescope autograder zip for one exercise (setup.sh and run_autograder at the root).

Layout once Gradescope unpacks it to /autograder/source::

    setup.sh, run_autograder         rendered from templates/gradescope/
    requirements.txt                 the grading code's dependencies (+ the exercise's own)
    gradescope.json                  the exercise id and its limits
    autograder/                      the grading code (public)
    graders/<id>/                    the hidden grader: root-only after setup.sh
    graders/course.toml              when present
    data/<file>                      the data the student may see (copied next to the notebook)
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from autograder.exercises import Exercise, Limits
from autograder.release.reproducible import Entry, files_under, write_zip
from autograder.sandbox.unprivileged import STUDENT_USER
from autograder.templating import render

CORE_REQUIREMENTS = ("numpy>=1.26", "nbformat>=5.9", "nbclient>=0.10", "ipykernel>=6.29")
EXTRA_REQUIREMENTS = "requirements.txt"  # graders/<id>/requirements.txt: e.g. tensorflow-cpu
PACKAGE = Path(__file__).resolve().parents[1]


def requirements(exercise: Exercise) -> str:
    lines = list(CORE_REQUIREMENTS)
    extra = exercise.grader_dir / EXTRA_REQUIREMENTS
    if extra.is_file():
        lines += [line.strip() for line in extra.read_text(encoding="utf-8").splitlines()
                  if line.strip() and not line.lstrip().startswith("#")]
    return "\n".join(lines) + "\n"


def gradescope_entries(exercise: Exercise, limits: Limits | None = None) -> list[Entry]:
    limits = limits or exercise.limits
    # Past the notebook's own limit: intake, kernel start and judging, with a margin.
    overall = int(limits.wall_s + 120)
    context = {"exercise_id": exercise.id, "student_user": STUDENT_USER,
               "overall_timeout_s": overall}
    settings = {"exercise": exercise.id, "limits": asdict(limits)}
    entries = [
        Entry("setup.sh", render("gradescope/setup.sh.j2", **context).encode(), True),
        Entry("run_autograder", render("gradescope/run_autograder.j2", **context).encode(),
              True),
        Entry("requirements.txt", requirements(exercise).encode()),
        Entry("gradescope.json", (json.dumps(settings, indent=2, sort_keys=True) + "\n")
              .encode()),
        *files_under(PACKAGE, "autograder"),
        *files_under(exercise.grader_dir, f"graders/{exercise.id}"),
    ]
    course_file = exercise.root / "graders" / "course.toml"
    if course_file.is_file():
        entries.append(Entry("graders/course.toml", course_file.read_bytes()))
    entries += [Entry(f"data/{path.name}", path.read_bytes()) for path in exercise.data_paths()]
    return entries


def write_gradescope_zip(exercise: Exercise, out: Path, limits: Limits | None = None) -> Path:
    return write_zip(out, gradescope_entries(exercise, limits))
