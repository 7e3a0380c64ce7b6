"""The NumPy exercises gradient-descent, min-max-scaling and xor: notebook structure,
released templates and the graders' own references (tests/test_validate.py grades them)."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import nbformat
import numpy as np
import pytest

from autograder.exercises import Exercise, get_exercise
from autograder.release.student_notebook import has_solution, role

EXERCISES = ["gradient-descent", "min-max-scaling", "xor"]


@pytest.fixture(params=EXERCISES)
def exercise(request: pytest.FixtureRequest) -> Exercise:
    return get_exercise(request.param)


def test_solution_has_one_marked_cell_per_function(exercise: Exercise) -> None:
    notebook = nbformat.read(exercise.solution_path, as_version=4)
    solution_ids = [cell.metadata["autograder"]["id"] for cell in notebook.cells
                    if role(cell) == "solution"]
    assert solution_ids == list(exercise.functions)
    for cell in notebook.cells:
        assert has_solution(cell.source) == (role(cell) == "solution"), cell.source[:60]
    roles = [role(cell) for cell in notebook.cells]
    assert roles[1:3] == ["setup", "check-helper"]
    assert roles[-1] == "grading-note"
    assert "check" in roles


def test_student_template_holds_no_solution_code(exercise: Exercise) -> None:
    text = exercise.assignment_path.read_text(encoding="utf-8")
    assert "BEGIN SOLUTION" not in text
    assert text.count("raise NotImplementedError") == len(exercise.functions)


def test_gradient_descent_reference_follows_the_closed_form() -> None:
    module = _grader_module("gradient-descent")
    for start, rate, steps in ((0.0, 0.1, 1000), (10.0, 0.1, 1000), (-7.0, 0.03, 13)):
        closed_form = 5 + (start - 5) * (1 - 4 * rate) ** steps
        assert module.reference_gradient_descent(start, rate, steps) == \
            pytest.approx(closed_form, abs=1e-9)


def test_housing_settings_reach_the_normal_equation() -> None:
    module = _grader_module("gradient-descent")
    X, price = module.housing_design()
    w, before, after = module.reference_bgd(X, price, np.zeros(3), module.HOUSING_ALPHA,
                                            module.HOUSING_ITERATIONS)
    exact = np.linalg.lstsq(X, price, rcond=None)[0]
    assert np.allclose(w, exact, rtol=1e-8)
    for costs in (before, after):  # converged costs wobble by rounding only
        assert np.all(np.diff(costs) <= 1e-12 * costs[:-1])


def test_xor_reference_is_xor() -> None:
    module = _grader_module("xor")
    assert np.round(module.reference_xor(module.TRUTH_TABLE)).tolist() == [0, 1, 1, 0]
    extremes = module.reference_sigmoid(np.array([-1000.0, 1000.0]))
    assert extremes.tolist() == [0.0, 1.0]


def _grader_module(exercise_id: str) -> ModuleType:
    """The hidden grader as a module, to reach its reference functions and settings."""
    path = get_exercise(exercise_id).grader_dir / "tests.py"
    spec = importlib.util.spec_from_file_location(f"numpy_grader_{exercise_id}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
