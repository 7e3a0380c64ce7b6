"""``autograder validate``: prove each grader is right before students meet it.

For every exercise: the solution must get full marks, the blank template zero, and each
built-in wrong variant must fail exactly the tests it is meant to fail.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from autograder.exercises import Exercise, all_exercises, get_exercise
from autograder.pipeline import GradeOptions, grade
from autograder.release.assignments import student_notebook_text
from autograder.release.variants import load_variants, write_notebook
from autograder.results import GradeResult
from autograder.sandbox import Sandbox, make_sandbox


@dataclass
class Check:
    exercise: str
    case: str
    expectation: str
    ok: bool
    detail: str
    result: GradeResult


def _failed(result: GradeResult) -> set[str]:
    return {t.name for t in result.tests if t.status != "passed"}


def _cases(exercise: Exercise, folder: Path) -> list[tuple[str, Path, str, str]]:
    """(case, notebook, expectation, mode) for one exercise."""
    template = folder / f"{exercise.id}-template.ipynb"
    template.write_text(student_notebook_text(exercise), encoding="utf-8")
    cases = [("solution", exercise.solution_path, "full marks", "full"),
             ("blank template", template, "zero", "full")]
    for variant in load_variants(exercise):
        path = write_notebook(variant.notebook(exercise), folder / f"{variant.name}.ipynb")
        cases.append((f"variant {variant.name}", path,
                      "fails exactly: " + "; ".join(variant.fails), variant.mode))
    return cases


def _judge(exercise: Exercise, case: str, expectation: str, result: GradeResult) -> Check:
    if expectation == "full marks":
        ok = result.score == result.max_score
        detail = f"{result.score:g}/{result.max_score:g}"
    elif expectation == "zero":
        ok = result.score == 0
        detail = f"{result.score:g}/{result.max_score:g}"
    else:
        wanted = set(expectation.removeprefix("fails exactly: ").split("; ")) - {""}
        failed = _failed(result)
        ok = failed == wanted
        detail = "as expected" if ok else (
            f"unexpected failures: {sorted(failed - wanted)}; "
            f"unexpected passes: {sorted(wanted - failed)}")
    if not ok:
        messages = [f"{t.name}: {t.output}" for t in result.tests if t.status != "passed"]
        detail += "\n      " + "\n      ".join(messages + result.errors)
    return Check(exercise.id, case, expectation, ok, detail, result)


def main(*, exercises: list[str] | None = None, sandbox: str = "auto",
         sandbox_box: Sandbox | None = None, workers: int = 2) -> list[Check]:
    chosen = [get_exercise(e) for e in exercises] if exercises else all_exercises()
    box = sandbox_box or make_sandbox(sandbox)
    checks: list[Check] = []
    with tempfile.TemporaryDirectory(prefix="autograder-validate-") as tmp:
        jobs = []
        for exercise in chosen:
            folder = Path(tmp) / exercise.id
            folder.mkdir()
            jobs += [(exercise, *case) for case in _cases(exercise, folder)]

        def run(job: tuple[Exercise, str, Path, str, str]) -> Check:
            exercise, case, path, expectation, mode = job
            result = grade(exercise=exercise, submission=path, sandbox=box,
                           options=GradeOptions(mode=mode))
            return _judge(exercise, case, expectation, result)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for check in pool.map(run, jobs):
                mark = "✔" if check.ok else "✘"
                sys.stderr.write(f"{mark} {check.exercise}: {check.case} → "
                                 f"{check.expectation} ({check.detail})\n")
                checks.append(check)
    return checks


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("validate", help="check solutions, templates and variants")
    parser.add_argument("exercises", nargs="*", help="exercise ids (default: all)")
    parser.add_argument("--sandbox", choices=("auto", "local", "docker"), default="auto")
    parser.add_argument("--workers", type=int, default=2, help="submissions graded at once")

    def handle(args: argparse.Namespace) -> int:
        checks = main(exercises=args.exercises, sandbox=args.sandbox, workers=args.workers)
        failed = [c for c in checks if not c.ok]
        sys.stderr.write(f"{len(checks) - len(failed)} of {len(checks)} expectations hold\n")
        return 1 if failed else 0

    parser.set_defaults(handler=handle)
