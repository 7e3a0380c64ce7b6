"""The notebook's last cell (role ``submit``): packs the hand-in zip from the notebook."""

from __future__ import annotations

import inspect

from autograder.exercises import Exercise
from autograder.submission import pack
from autograder.templating import render


def submission_zip_name(exercise: Exercise) -> str:
    return f"{exercise.id}-submission.zip"


def _pack_source() -> str:
    # The module without its docstring and __future__ import: a cell cannot start with one
    # after other code, and students need only the functions.
    source = inspect.getsource(pack)
    body = source.split('"""', 2)[2].lstrip("\n")
    return body.replace("from __future__ import annotations\n\n", "", 1).rstrip("\n")


def submit_cell_source(exercise: Exercise) -> str:
    return render("notebook/submit.py.j2", pack_source=_pack_source(),
                  notebook_name=f"{exercise.id}.ipynb", zip_name=submission_zip_name(exercise),
                  required_files=list(exercise.required_files)).rstrip("\n")
