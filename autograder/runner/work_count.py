"""Counts the Python-level work a call does, for the vectorization verdict.

Runs inside the student's kernel, around one probe call. A trace function counts every
Python function call and every line executed while the call runs, in the student's code
and in the libraries it calls. A vectorized function does the same handful of
Python-level steps whatever the number of samples, because its loops run in NumPy's C
code; a loop over samples executes its body once per sample. The judge compares the
counts at two sizes. Counts do not depend on the machine's load, unlike timings.

The count is only evidence if the harness stayed in place: the call must not remove or
replace the trace function, and must not look at the call stack or the tracing hooks (a
profile function watches for those builtins). If it did, the result says so and the judge
treats the call's vectorization as not verifiable.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

# Builtins that read or change the tracing harness or the call stack. The stdlib's own
# warnings module reads frames to attribute a warning; that is not the student's doing.
_WATCHED = {id(f): f.__name__ for f in (
    sys.settrace, sys.setprofile, sys.gettrace, sys.getprofile, sys._getframe,
    sys._current_frames)}
_EXEMPT_FILES = ("warnings.py",)


@dataclass(frozen=True)
class WorkCount:
    events: int  # Python calls and lines executed during the call
    intact: bool  # the harness stayed in place and unobserved
    why: str = ""  # what the call did to the harness, when not intact


class _Counter:
    def __init__(self) -> None:
        self.events = 0
        self.tampered = ""

    def trace(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any]:
        self.events += 1
        return self.local

    def local(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any]:
        if event == "line":
            self.events += 1
        return self.local

    def profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call" and id(arg) in _WATCHED and not self.tampered \
                and frame.f_code.co_filename != __file__ \
                and not frame.f_code.co_filename.endswith(_EXEMPT_FILES):
            self.tampered = f"it calls `sys.{_WATCHED[id(arg)]}`"


def counted_call(function: Callable[..., Any], args: list[Any],
                 kwargs: dict[str, Any]) -> tuple[Any, WorkCount]:
    """``function(*args, **kwargs)`` with its Python-level events counted. Exceptions
    propagate (the harness is removed first)."""
    counter = _Counter()
    previous_trace, previous_profile = sys.gettrace(), sys.getprofile()
    sys.setprofile(counter.profile)
    sys.settrace(counter.trace)
    try:
        result = function(*args, **kwargs)
    finally:
        trace_now, profile_now = sys.gettrace(), sys.getprofile()
        sys.settrace(previous_trace)
        sys.setprofile(previous_profile)
    why = counter.tampered
    if trace_now != counter.trace or profile_now != counter.profile:
        why = why or "it removes or replaces the grader's trace function"
    return result, WorkCount(counter.events, not why, why)
