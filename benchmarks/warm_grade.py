"""One submission graded again and again on one warm Docker sandbox, next to the cold
Docker sandbox in the same run: the steady-state cost of a grade, and where it goes.

For each exercise, ``--repeat`` grades on the warm sandbox (the first also starts the
container, and is shown apart) and ``--repeat`` on the cold one; the table shows medians,
the ratio, and the warm grade's steps from ``WarmDockerSandbox.last_timings`` and the grade
leader's report. An exercise whose students hand in saved files (the Keras ones) is graded
in ``--mode fast`` from a hand-in made by running its solution (as ``benchmarks/class.py``
does).

    PYTHONPATH=$PWD python benchmarks/warm_grade.py [--exercises mse fashion-mnist]
                                                    [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.exercises import Exercise, get_exercise  # noqa: E402
from autograder.pipeline import GradeOptions, grade  # noqa: E402
from autograder.sandbox import make_sandbox  # noqa: E402
from benchmarks.fast_vs_full import make_handin  # noqa: E402


def _handin(exercise: Exercise, work: Path) -> tuple[Path, str]:
    if not exercise.required_files:  # nothing saved to hand in: the notebook alone
        return exercise.solution_path, "full"
    folder = make_handin(exercise, nbformat.read(exercise.solution_path, as_version=4),
                         work / exercise.id)
    return folder, "fast"


def _grades(exercise: Exercise, submission: Path, mode: str, warm: bool,
            repeat: int) -> tuple[list[float], list[dict[str, float]]]:
    sandbox = make_sandbox("docker", warm=warm)
    seconds, steps = [], []
    try:
        for _ in range(repeat + (1 if warm else 0)):
            started = time.perf_counter()
            result = grade(exercise=exercise, submission=submission, sandbox=sandbox,
                           options=GradeOptions(mode=mode))
            seconds.append(time.perf_counter() - started)
            if result.score != result.max_score:
                raise RuntimeError(f"{exercise.id}: {result.score}/{result.max_score}")
            if warm:
                t = sandbox.last_timings  # type: ignore[attr-defined]
                steps.append({"exec": t.exec, "unpack": t.readback, **t.leader})
    finally:
        close = getattr(sandbox, "close", None)
        if close:
            close()
    return seconds, steps


def _span(values: list[float]) -> str:
    return f"{min(values):.2f}–{max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exercises", nargs="+", default=["mse", "fashion-mnist"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="warm-grade-") as tmp:
        for exercise_id in args.exercises:
            exercise = get_exercise(exercise_id)
            submission, mode = _handin(exercise, Path(tmp))
            warm, steps = _grades(exercise, submission, mode, True, args.repeat)
            cold, _ = _grades(exercise, submission, mode, False, args.repeat)
            first, steady = warm[0], warm[1:]
            print(f"\n{exercise_id} ({mode} mode), {args.repeat} grades each")
            print(f"  warm: median {statistics.median(steady):.2f} s ({_span(steady)}); "
                  f"first, starting the container: {first:.2f} s")
            print(f"  cold: median {statistics.median(cold):.2f} s ({_span(cold)})")
            print(f"  warm / cold: {statistics.median(steady) / statistics.median(cold):.2f}")
            print("  warm grade's steps (s):")
            for name in steps[1]:
                print(f"    {name:<12} {_span([s.get(name, 0.0) for s in steps[1:]])}")


if __name__ == "__main__":
    main()
