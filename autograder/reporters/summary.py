"""The short human summary printed on stderr after grading."""

from __future__ import annotations

from autograder.results import GradeResult

MARKS = {"passed": "✔", "failed": "✘", "error": "!"}


def render(result: GradeResult) -> str:
    lines = [f"{result.exercise}: {result.score:g} / {result.max_score:g} points "
             f"({result.execution_time:.1f} s, sandbox {result.metadata.get('sandbox', '?')})"]
    for test in result.tests:
        lines.append(f"  {MARKS[test.status]} {test.name} [{test.score:g}/{test.max_score:g}]")
        if test.status != "passed":
            lines.append(f"      {test.output.splitlines()[0] if test.output else ''}")
    lines += [f"  ! {error.splitlines()[0]}" for error in result.errors]
    return "\n".join(lines) + "\n"
