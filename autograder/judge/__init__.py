"""The trusted side: hidden tests judge the plain data the sandbox sent back."""

from autograder.judge.checks import (
    as_scalar,
    expect_array,
    expect_close,
    expect_number,
    expect_tuple,
)
from autograder.judge.context import CallOutcome, JudgeContext
from autograder.judge.framework import Fail, Grader, Plan

__all__ = ["CallOutcome", "Fail", "Grader", "JudgeContext", "Plan", "as_scalar",
           "expect_array", "expect_close", "expect_number", "expect_tuple"]
