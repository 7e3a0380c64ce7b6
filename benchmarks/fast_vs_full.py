"""Full vs fast grading of the Keras exercises that train for longest.

For each exercise, hand-ins are made the way a student makes them — run the notebook,
keep the notebook and the model file it saved:

- ``solution``: the course solution, which trains briefly (12,000 images, 2–3 epochs) so
  that validating it in CI stays short;
- ``slides-length``: the same solution trained as the workshop's slides do it (all 60,000
  images, 5 epochs), which is what a class actually hands in;
- ``weak-model``: the variant that trains one epoch on 1 % of the images.

Each is graded in ``--mode full`` (the notebook re-trains) and ``--mode fast`` (training
cells skipped, the handed-in model graded). Prints the times, the ratio and both verdicts::

    python -m autograder datasets prepare        # once
    python -m benchmarks.fast_vs_full [fashion-mnist cnn] [--cases solution weak-model]
                                      [--sandbox local|docker]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode

from autograder.datasets import public_data_dir
from autograder.exercises import Exercise, get_exercise
from autograder.pipeline import GradeOptions, grade
from autograder.release.variants import load_variants
from autograder.results import GradeResult
from autograder.runner.execute import KERNEL_ENV
from autograder.sandbox import Sandbox, make_sandbox

EXERCISES = ("fashion-mnist", "cnn")
WEAK_VARIANT = "weak-model"
SLIDES_LENGTH = "slides-length"
CASES = ("solution", SLIDES_LENGTH, WEAK_VARIANT)
SLIDES_EPOCHS = 5


@dataclass
class Comparison:
    exercise: str
    case: str
    full: GradeResult
    fast: GradeResult
    full_s: float
    fast_s: float

    @property
    def ratio(self) -> float:
        return self.full_s / self.fast_s

    @property
    def agree(self) -> bool:
        """Same verdict: the same tests pass and fail in both modes."""
        return _verdicts(self.full) == _verdicts(self.fast)


def _verdicts(result: GradeResult) -> dict[str, str]:
    return {t.name: t.status for t in result.tests}


def case_notebook(exercise: Exercise, case: str) -> NotebookNode:
    """The solution, trained as the slides train it, or the weak-model variant."""
    if case == WEAK_VARIANT:
        variant = next(v for v in load_variants(exercise) if v.name == WEAK_VARIANT)
        return variant.notebook(exercise)
    notebook = nbformat.read(exercise.solution_path, as_version=4)
    if case == SLIDES_LENGTH:
        for cell in notebook.cells:
            if cell.get("metadata", {}).get("autograder", {}).get("role") == "training":
                cell.source = slides_length(cell.source)
    return notebook


def slides_length(source: str) -> str:
    """A training cell's ``fit`` on every training image for the slides' 5 epochs."""
    longer = re.sub(r"(training_(?:images|labels))\[:[\d_]+\]", r"\1", source)
    longer = re.sub(r"epochs=\d+", f"epochs={SLIDES_EPOCHS}", longer)
    if longer == source:
        raise ValueError("the training cell has no subset or epoch count to lengthen")
    return longer


def make_handin(exercise: Exercise, notebook: NotebookNode, folder: Path) -> Path:
    """Run ``notebook`` in ``folder`` as a student would (seeded, on the public data) and
    leave there what they hand in: the executed notebook and the files it saved."""
    folder.mkdir(parents=True, exist_ok=True)
    # The kernel inherits this process's environment: the same settings the grader uses.
    os.environ.update({**KERNEL_ENV, "KERAS_HOME": str(public_data_dir())})
    # The exercise's data sit next to the notebook while it runs, as when grading; they
    # are not part of what the student hands in.
    data = [shutil.copy(path, folder / path.name) for path in exercise.data_paths()]
    try:
        NotebookClient(notebook, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        for copied in data:
            Path(copied).unlink(missing_ok=True)
    nbformat.write(notebook, folder / f"{exercise.id}.ipynb")
    missing = [name for name in exercise.required_files if not (folder / name).is_file()]
    if missing:
        raise RuntimeError(f"running {exercise.id} did not save {', '.join(missing)}")
    return folder


def _timed(exercise: Exercise, handin: Path, mode: str,
           sandbox: Sandbox) -> tuple[GradeResult, float]:
    # The slides-length notebooks train for minutes: no limit of the exercise's may cut
    # the full run short, or it would be timed to the limit instead of to its end.
    start = time.perf_counter()
    result = grade(exercise=exercise, submission=handin, sandbox=sandbox,
                   options=GradeOptions(mode=mode, limits=exercise.limits.override(
                       timeout_s=3600, cell_timeout_s=3600)))
    return result, time.perf_counter() - start


def compare(exercise_id: str, case: str, work: Path, sandbox: Sandbox) -> Comparison:
    exercise = get_exercise(exercise_id)
    handin = make_handin(exercise, case_notebook(exercise, case), work / exercise_id / case)
    full, full_s = _timed(exercise, handin, "full", sandbox)
    fast, fast_s = _timed(exercise, handin, "fast", sandbox)
    return Comparison(exercise_id, case, full, fast, full_s, fast_s)


def _score(result: GradeResult) -> str:
    return f"{result.score:g}/{result.max_score:g}"


def table(comparisons: list[Comparison]) -> str:
    rows = [("exercise", "hand-in", "full s", "fast s", "ratio", "full", "fast", "agree")]
    rows += [(c.exercise, c.case, f"{c.full_s:.1f}", f"{c.fast_s:.1f}", f"{c.ratio:.1f}×",
              _score(c.full), _score(c.fast), "yes" if c.agree else "NO")
             for c in comparisons]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in rows]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def main(*, exercises: tuple[str, ...] = EXERCISES, cases: tuple[str, ...] = CASES,
         sandbox: str = "local", work: Path | None = None) -> list[Comparison]:
    folder = work or Path(os.environ.get("TMPDIR", "/tmp")) / "autograder-fast-vs-full"
    shutil.rmtree(folder, ignore_errors=True)
    box = make_sandbox(sandbox)
    comparisons = []
    for exercise in exercises:
        for case in cases:
            comparisons.append(compare(exercise, case, folder, box))
            print(f"{exercise} {case}: done", file=sys.stderr, flush=True)
    print(table(comparisons))
    return comparisons


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("exercises", nargs="*", default=list(EXERCISES))
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--sandbox", choices=("local", "docker"), default="local")
    args = parser.parse_args()
    results = main(exercises=tuple(args.exercises), cases=tuple(args.cases),
                   sandbox=args.sandbox)
    sys.exit(0 if all(c.agree for c in results) else 1)
