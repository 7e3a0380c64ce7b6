"""Inside Gradescope's container: grade /autograder/submission, write results.json.

Started by ``run_autograder`` (as root). Whatever happens — a broken submission, a crash
in the grader, no user to drop to — a results.json in Gradescope's format is written, so
the student always sees a score and a reason.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from dataclasses import replace
from pathlib import Path

from autograder.exercises import course_root, get_exercise
from autograder.judge import warmup
from autograder.pipeline import GradeOptions, grade
from autograder.reporters.gradescope import to_gradescope
from autograder.results import GradeResult, Problem, ProblemCode, TestResult


def failure_result(exercise: str, reason: str, started: float) -> GradeResult:
    """Every test at zero with ``reason``: used when grading itself could not happen."""
    try:
        tests = [TestResult(t.name, 0.0, t.points, "error", reason, t.visibility)
                 for t in get_exercise(exercise).load_grader().tests]
    except Exception:  # the grader cannot even be loaded: one synthetic test
        tests = [TestResult("autograder", 0.0, 0.0, "error", reason)]
    return GradeResult.from_tests(exercise, tests, execution_time=time.monotonic() - started,
                                  problems=[Problem(ProblemCode.INTERNAL_ERROR, reason)])


def write_results(result: GradeResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(to_gradescope(result), indent=2, ensure_ascii=False),
                         encoding="utf-8")
    temporary.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="autograder.lms.gradescope_run")
    parser.add_argument("--exercise", required=True)
    parser.add_argument("--submission", type=Path, default=Path("/autograder/submission"))
    parser.add_argument("--results", type=Path,
                        default=Path("/autograder/results/results.json"))
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        from autograder.sandbox.unprivileged import UnprivilegedSandbox

        exercise = get_exercise(args.exercise)
        settings = json.loads((course_root() / "gradescope.json").read_text())
        limits = replace(exercise.limits, **settings.get("limits", {}))
        sandbox = UnprivilegedSandbox()
        result = grade(exercise=exercise, submission=args.submission, sandbox=sandbox,
                       options=GradeOptions(limits=limits))
        result.metadata["sandbox"] = sandbox.describe()
        # Loaded while the notebook ran (judge/warmup.py): seconds the judge did not wait.
        warmed = warmup.seconds.get(exercise.id)
        if warmed is not None:
            result.metadata["judge_warmup_s"] = warmed
        # Gradescope hides stdout from students (stdout_visibility "hidden"): staff only.
        sys.stdout.write(f"sandbox: {sandbox.describe()}\n{result.sandbox_log}\n"
                         f"graded in {time.monotonic() - started:.1f} s; judge warm-up "
                         f"(TensorFlow, held-out data, while the notebook ran): "
                         f"{'none' if warmed is None else f'{warmed:.1f} s'}\n")
    except Exception as exc:
        traceback.print_exc()  # to Gradescope's hidden stdout, for staff
        result = failure_result(args.exercise, "The autograder itself failed "
                                f"({type(exc).__name__}); course staff have the details.",
                                started)
    write_results(result, args.results)
    sys.stdout.write(f"{result.exercise}: {result.score:g} / {result.max_score:g}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
