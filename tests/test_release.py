"""Student notebooks are generated, reproducible, and hold no solutions."""

from pathlib import Path

import pytest

from autograder.exercises import all_exercises
from autograder.release.assignments import release_assignment
from autograder.release.student_notebook import NotebookFormatError, strip_solutions


def test_release_is_byte_identical_and_matches_the_committed_assignments(
        tmp_path: Path) -> None:
    exercises = all_exercises()
    first = [p for e in exercises for p in release_assignment(e, tmp_path / "a")]
    second = [p for e in exercises for p in release_assignment(e, tmp_path / "b")]
    assert [p.relative_to(tmp_path / "a") for p in first] == \
        [p.relative_to(tmp_path / "b") for p in second]
    for one, two in zip(first, second, strict=True):
        assert one.read_bytes() == two.read_bytes(), one
    for path in first:
        committed = exercises[0].root / "assignments" / path.relative_to(tmp_path / "a")
        assert committed.is_file(), f"{committed} is not committed: run `autograder release`"
        assert committed.read_bytes() == path.read_bytes(), \
            f"{committed} is out of date: run `autograder release`"


def test_solution_regions_become_stubs_at_their_indentation() -> None:
    source = "def f(x):\n    # BEGIN SOLUTION\n    return x + 1\n    # END SOLUTION\n"
    stripped = strip_solutions(source, "f")
    assert "return x + 1" not in stripped
    assert "    raise NotImplementedError(" in stripped
    compile(stripped, "f", "exec")


@pytest.mark.parametrize("source", [
    "# BEGIN SOLUTION\nx = 1\n",
    "x = 1\n# END SOLUTION\n",
    "# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n",
])
def test_unbalanced_markers_are_refused(source: str) -> None:
    with pytest.raises(NotebookFormatError):
        strip_solutions(source, "cell")
