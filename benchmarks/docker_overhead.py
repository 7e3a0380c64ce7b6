"""How much the Docker sandbox adds to grading one submission.

Times, for the ``mse`` reference solution: a bare nbclient run of the notebook (no
grading at all), ``grade`` with ``--sandbox local``, and ``grade`` with ``--sandbox docker``.
Rounds are interleaved so that all three see the same machine load; the table shows
medians and what Docker adds over the local sandbox (goal: at most 1.0 s).

    python benchmarks/docker_overhead.py [--rounds 5] [--cpus N] [--exercise mse]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.exercises import get_exercise
from autograder.pipeline import GradeOptions, grade
from autograder.sandbox import LocalSandbox, Sandbox
from autograder.sandbox.docker import DockerSandbox

GOAL_S = 1.0


def bare_nbclient(notebook: Path) -> Callable[[], float]:
    def run() -> float:
        started = time.perf_counter()
        node = nbformat.read(notebook, as_version=4)
        NotebookClient(node, timeout=120, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(notebook.parent)}}).execute()
        return time.perf_counter() - started
    return run


def graded(exercise_id: str, box: Sandbox, options: GradeOptions) -> Callable[[], float]:
    exercise = get_exercise(exercise_id)

    def run() -> float:
        started = time.perf_counter()
        result = grade(exercise=exercise, submission=exercise.solution_path, sandbox=box,
                       options=options)
        seconds = time.perf_counter() - started
        if result.score != result.max_score:
            failed = "; ".join(t.name for t in result.tests if t.status != "passed")
            sys.stderr.write(f"  note: {box.name} gave {result.score:g}/{result.max_score:g} "
                             f"({failed})\n")
        return seconds
    return run


def main(*, exercise_id: str = "mse", rounds: int = 5, cpus: float | None = None) -> int:
    exercise = get_exercise(exercise_id)
    options = GradeOptions(limits=exercise.limits.override(cpus=cpus))
    limits = options.limits or exercise.limits
    # The Docker sandbox sizes BLAS/OpenMP pools to its CPU limit; give the bare and local
    # runs (whose kernels inherit this environment) the same, so only the sandbox differs.
    threads = str(max(1, math.ceil(limits.cpus)))
    os.environ.update(OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads,
                      MKL_NUM_THREADS=threads)
    docker_box = DockerSandbox.connect()
    runs = {
        "bare nbclient": bare_nbclient(exercise.solution_path),
        "grade --sandbox local": graded(exercise_id, LocalSandbox(), options),
        "grade --sandbox docker": graded(exercise_id, docker_box, options),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for warm_up in runs.values():  # imports, page cache, image layers
        warm_up()
    for index in range(rounds):
        for name, run in runs.items():
            times[name].append(run())
        sys.stderr.write(f"round {index + 1}/{rounds}: " + ", ".join(
            f"{name} {values[-1]:.2f} s" for name, values in times.items()) + "\n")
    docker_box.close()

    bare = statistics.median(times["bare nbclient"])
    local = statistics.median(times["grade --sandbox local"])
    print(f"{exercise_id}: median of {rounds} rounds (docker limits: {limits.cpus:g} CPU, "
          f"{limits.memory_mb} MiB; {threads} BLAS thread(s) everywhere)")
    print(f"{'run':<24} {'median s':>9} {'min s':>7} {'× bare':>7} {'× local':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<24} {median:>9.2f} {min(values):>7.2f} {median / bare:>7.2f} "
              f"{median / local:>8.2f}")
    added = statistics.median(times["grade --sandbox docker"]) - local
    verdict = "meets" if added <= GOAL_S else "misses"
    print(f"docker adds {added:+.2f} s per submission over local ({verdict} the "
          f"{GOAL_S:.1f} s goal)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exercise", default="mse")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cpus", type=float, default=None,
                        help="CPU limit for both sandboxes' limits (default: the exercise's)")
    args = parser.parse_args()
    sys.exit(main(exercise_id=args.exercise, rounds=args.rounds, cpus=args.cpus))
