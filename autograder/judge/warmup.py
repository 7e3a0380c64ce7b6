"""Loading what the judge needs while the sandbox runs: the model evaluator's warm process
(which imports TensorFlow) for exercises that hand in models, and the held-out data sets.
Each is loaded once per process (a batch worker or a Gradescope run), in a background
thread started before the notebook runs, so the seconds it takes overlap with the
sandbox's instead of following them."""

from __future__ import annotations

import threading
import time

from autograder.datasets import exercise_datasets, load_heldout
from autograder.exercises import Exercise
from autograder.judge.models import MODEL_SUFFIXES
from autograder.judge.models.evaluator import evaluator

_started: set[str] = set()
_lock = threading.Lock()
seconds: dict[str, float] = {}  # how long each exercise's warm-up took, once it is done


def needs_keras(exercise: Exercise) -> bool:
    return any(name.endswith(MODEL_SUFFIXES) for name in exercise.required_files)


def start(exercise: Exercise) -> threading.Thread | None:
    """Begin loading ``exercise``'s judge-side libraries and data (once per process)."""
    with _lock:
        if exercise.id in _started:
            return None
        _started.add(exercise.id)
    thread = threading.Thread(target=_load, args=(exercise,), name="judge-warmup",
                              daemon=True)
    thread.start()
    return thread


def _load(exercise: Exercise) -> None:
    # Failures are not reported here: the judge meets the same error when it grades, and
    # words it for the student there.
    started = time.monotonic()
    try:
        if needs_keras(exercise):
            evaluator().start()
        for name in exercise_datasets(exercise):
            load_heldout(name)
    except Exception:
        return
    seconds[exercise.id] = round(time.monotonic() - started, 2)
