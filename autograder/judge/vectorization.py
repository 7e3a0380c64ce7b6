"""Is a function vectorized? Judged from outside the kernel, in two steps.

1. **Static evidence decides** (static_closure.py): everything the function can run is
   read from the notebook's source; any Python-level loop in it (``for``, ``while``, a
   comprehension, ``map``, ``np.vectorize``, builtin ``sum`` over an array, recursion…)
   fails with the line that shows it, and code the judge cannot read (``exec``, a module
   the notebook wrote, ``getattr`` on a string…) fails as "cannot be verified".
2. **Dynamic evidence confirms** (runner/work_count.py): the probe calls the function on
   fresh random inputs at two sizes and counts the Python-level events (calls and lines)
   each call executes. Vectorized code does the same work in Python whatever the number
   of samples; a loop over samples that escaped the static reading does more with every
   sample. Each call's value is checked against the reference too, and a call that
   removed or watched the counting harness makes the verdict "cannot be verified".

Nothing here measures time, so the verdict is the same on an idle and on a busy machine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from autograder.judge.static_closure import Finding, FindingKind, find_python_loop
from autograder.protocol.status import CallStatus

if TYPE_CHECKING:
    from autograder.judge.context import JudgeContext
    from autograder.judge.framework import Plan

# Sizes of the counted calls: small enough that a traced per-sample loop stays cheap,
# far enough apart that one Python line per sample stands out.
WORK_SIZES = (40, 320)
WORK_REPEATS = 2  # fresh random inputs per size
# Extra events per extra sample that mark a loop. A loop over samples executes at least
# one line per sample (usually three or more); vectorized code adds none (measured: the
# four solutions' counts are identical at both sizes).
EVENTS_PER_SAMPLE = 0.5

Inputs = Callable[[np.random.Generator, int], tuple[Any, ...]]
# None when the value is right for the inputs, else a sentence saying what is wrong.
Check = Callable[[tuple[Any, ...], Any], str | None]


@dataclass(frozen=True)
class Verdict:
    vectorized: bool
    message: str


@dataclass(frozen=True)
class WorkPlan:
    """How to measure a function's work: inputs of ``m`` samples, and a value check."""

    function: str
    inputs: Inputs
    check: Check
    iteration_param: int | None = None  # position of the parameter of an allowed loop

    def call_id(self, size: int, repeat: int) -> str:
        return f"{self.function}__work_{size}_{repeat}"

    def add_calls(self, plan: Plan) -> None:
        for size in WORK_SIZES:
            for repeat in range(WORK_REPEATS):
                plan.call(self.call_id(size, repeat), self.function,
                          *self.inputs(plan.rng, size), count_work=True)


ADVICE = "Replace the loop with NumPy array operations (`@`, `np.sum(..., axis=...)`, " \
         "broadcasting)."


def _static_message(function: str, finding: Finding, iteration_param: int | None) -> str:
    where = finding.location()
    at = f" ({where})" if where else ""
    helper = finding.via[-1] if finding.via and finding.via[-1] != function else None
    uses = f"relies on `{helper}`, which uses" if helper else "uses"
    if finding.kind is FindingKind.MISSING:
        return (f"Could not find `{function}` in your notebook's code cells, so its "
                "vectorization could not be checked.")
    if finding.kind is FindingKind.UNREAD:
        return finding.what
    if finding.kind is FindingKind.UNVERIFIABLE:
        return (f"The vectorization of `{function}` cannot be verified: it {uses} "
                f"{finding.what}{at}, code the grader cannot read. Write it with NumPy "
                "operations in the notebook's own cells.")
    allowed = ("only the loop over iterations (`for _ in range(iterations)`) in the function "
               "itself" if iteration_param is not None else "no Python loops")
    return (f"`{function}` {uses} {finding.what}{at}; a vectorized version has "
            f"{allowed}. {ADVICE}")


def judge_vectorization(ctx: JudgeContext, work: WorkPlan) -> Verdict:
    function = work.function
    unread = ctx.source.unread_reason()
    finding = Finding(FindingKind.UNREAD, unread) if unread else find_python_loop(
        ctx.source, function, iteration_param=work.iteration_param)
    if finding is not None:
        return Verdict(False, _static_message(function, finding, work.iteration_param))
    counts: dict[int, list[int]] = {}
    for size in WORK_SIZES:
        for repeat in range(WORK_REPEATS):
            call_id = work.call_id(size, repeat)
            outcome = ctx.outcome(call_id)
            if outcome.status is not CallStatus.OK:
                return Verdict(False, f"`{function}` could not be run on {size} random "
                                      f"samples ({outcome.error or outcome.status.value}), so "
                                      "its vectorization could not be confirmed.")
            wrong = work.check(ctx.args(call_id), outcome.value)
            if wrong is not None:
                return Verdict(False, f"On {size} random samples `{function}` {wrong}; a "
                                      "vectorized answer must also be right.")
            events, intact, note = _work(outcome.extra)
            if not intact or events is None:
                why = note or "the grader's count of its work did not come back"
                return Verdict(False, f"The vectorization of `{function}` cannot be verified: "
                                      f"{why}. Leave the interpreter's tracing and the call "
                                      "stack alone.")
            counts.setdefault(size, []).append(events)
    small, large = WORK_SIZES
    extra = min(counts[large]) - max(counts[small])
    if extra > EVENTS_PER_SAMPLE * (large - small):
        return Verdict(False, f"`{function}` executed {extra} more Python steps on {large} "
                              f"samples than on {small}: Python code runs once per sample "
                              f"somewhere the grader could not see in your source. {ADVICE}")
    # The same words on every run: a passing verdict must not vary from grade to grade.
    return Verdict(True, f"No Python loop over samples in `{function}`.")


def _work(extra: dict[str, Any]) -> tuple[int | None, bool, str]:
    """The probe's work count (runner/work_count.py), read as untrusted plain data."""
    events, intact, note = (extra.get("work_events"), extra.get("work_intact"),
                            extra.get("work_note"))
    valid = type(events) is int and 0 <= events < 2**62
    return (events if valid else None, intact is True,
            note[:200] if isinstance(note, str) else "")
