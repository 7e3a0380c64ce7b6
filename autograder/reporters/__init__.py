"""Result formats: native JSON, Gradescope's results.json, and a human summary."""

from __future__ import annotations

from collections.abc import Callable

from autograder.reporters import gradescope, native
from autograder.results import GradeResult

FORMATS: dict[str, Callable[[GradeResult], str]] = {
    "native": native.render,
    "gradescope": gradescope.render,
}
