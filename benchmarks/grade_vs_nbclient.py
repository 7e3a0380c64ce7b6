"""Time to grade the `mse` solution next to a bare nbclient run of the same notebook.

    python benchmarks/grade_vs_nbclient.py [--runs 5] [--sandbox local]

Both include starting and stopping a kernel; grading adds the runner process, the probe's
calls (with the vectorization timings) and the judge. Runs alternate so that a change in
machine load hits both columns alike; the table shows medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.exercises import get_exercise
from autograder.pipeline import grade
from autograder.sandbox import make_sandbox


def bare_nbclient(notebook_path: Path, data: list[Path]) -> float:
    with tempfile.TemporaryDirectory() as folder:
        for path in data:
            shutil.copy(path, folder)
        notebook = nbformat.read(notebook_path, as_version=4)
        start = time.perf_counter()
        NotebookClient(notebook, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": folder}}).execute()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sandbox", default="local")
    parser.add_argument("--exercise", default="mse")
    args = parser.parse_args()
    exercise = get_exercise(args.exercise)
    sandbox = make_sandbox(args.sandbox)
    bare, graded = [], []
    for _ in range(args.runs):
        bare.append(bare_nbclient(exercise.solution_path, exercise.data_paths()))
        start = time.perf_counter()
        result = grade(exercise=exercise, submission=exercise.solution_path, sandbox=sandbox)
        graded.append(time.perf_counter() - start)
        assert result.score == result.max_score, result.tests
    b, g = statistics.median(bare), statistics.median(graded)
    print(f"{args.exercise} solution, {args.runs} runs each, medians")
    print(f"| {'bare nbclient (s)':>18} | {f'grade --sandbox {sandbox.name} (s)':>26} | ratio |")
    print(f"| {b:>18.2f} | {g:>26.2f} | {g / b:.2f}× |")


if __name__ == "__main__":
    main()
