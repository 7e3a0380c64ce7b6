"""`autograder validate` holds for every exercise: full marks, zero, exact variant failures.

Runs in the sandbox that ``auto`` picks (Docker in CI, where the engine and image exist);
set AUTOGRADER_TEST_SANDBOX=local to force the local one.
"""

import os

import pytest

from autograder.commands import validate
from autograder.exercises import all_exercises
from autograder.sandbox import make_sandbox

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("exercise", [e.id for e in all_exercises()])
def test_validate(exercise: str) -> None:
    box = make_sandbox(os.environ.get("AUTOGRADER_TEST_SANDBOX", "auto"))
    checks = validate.main(exercises=[exercise], sandbox_box=box)
    assert len(checks) >= 2
    failed = [f"{c.case}: {c.detail}" for c in checks if not c.ok]
    assert not failed, failed
