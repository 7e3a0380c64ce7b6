"""The short human summary printed on stderr after grading.

Messages quote what a notebook printed or raised, so each line is cleaned of control
characters: an ANSI escape sequence in a student's exception must not rewrite the grader's
terminal (move the cursor, change the title, hide lines).
"""

from __future__ import annotations

import re

from autograder.results import GradeResult

MARKS = {"passed": "✔", "failed": "✘", "error": "!"}
# C0 and C1 control characters (ESC starts terminal sequences; CR and BS overwrite text).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def terminal_text(text: str) -> str:
    """``text`` as one line that a terminal prints literally."""
    return _CONTROL.sub("?", text.replace("\t", " "))


def render(result: GradeResult) -> str:
    lines = [f"{result.exercise}: {result.score:g} / {result.max_score:g} points "
             f"({result.execution_time:.1f} s, sandbox {result.metadata.get('sandbox', '?')})"]
    for test in result.tests:
        lines.append(f"  {MARKS[test.status]} {terminal_text(test.name)} "
                     f"[{test.score:g}/{test.max_score:g}]")
        if test.status != "passed":
            first = test.output.splitlines()[0] if test.output else ""
            lines.append(f"      {terminal_text(first)}")
    lines += [f"  ! {terminal_text(error.splitlines()[0])}" for error in result.errors
              if error.splitlines()]
    return "\n".join(lines) + "\n"
