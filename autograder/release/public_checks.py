"""The notebook's public checks (cells with role ``check``) in otter-grader's OK format.

Each ``check("description", lambda: expression)`` call becomes a doctest case
``>>> bool(expression)`` → ``True``; the other statements of the cell (demo inputs) run
first as setup lines of each case. Tests are named after the solution cell (its
``autograder.id``) that the check cell follows, so ``otter check`` reports per function.
"""

from __future__ import annotations

import ast
import pprint
from dataclasses import dataclass, field

from nbformat import NotebookNode

from autograder.judge.source import parse_python
from autograder.release.student_notebook import role


@dataclass
class PublicTest:
    name: str
    cases: list[str] = field(default_factory=list)  # doctest sources


def _doctest_lines(statement: str) -> list[str]:
    lines = statement.split("\n")
    return [f">>> {lines[0]}"] + [f"... {line}" for line in lines[1:]]


def _check_expression(node: ast.stmt) -> tuple[str, str] | None:
    """(description, expression) for ``check("...", lambda: expr)``, else None."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return None
    call = node.value
    if not (isinstance(call.func, ast.Name) and call.func.id == "check" and len(call.args) == 2):
        return None
    description, test = call.args
    if not (isinstance(description, ast.Constant) and isinstance(description.value, str)
            and isinstance(test, ast.Lambda) and not test.args.args):
        return None
    return description.value, ast.unparse(test.body)


def public_tests(notebook: NotebookNode) -> list[PublicTest]:
    tests: dict[str, PublicTest] = {}
    current = "checks"
    for cell in notebook.cells:
        cell_id = cell.get("metadata", {}).get("autograder", {}).get("id")
        if role(cell) == "solution" and cell_id:
            current = str(cell_id)
        if role(cell) != "check" or cell.cell_type != "code":
            continue
        setup: list[str] = []
        for node in parse_python(cell.source).body:
            found = _check_expression(node)
            if found is None:
                setup += _doctest_lines(ast.unparse(node))
                continue
            description, expression = found
            case = "\n".join([f"# {description}", *setup, *_doctest_lines(f"bool({expression})"),
                              "True"])
            tests.setdefault(current, PublicTest(current)).cases.append(case)
    return list(tests.values())


def otter_test_file(test: PublicTest, points: float = 1.0) -> str:
    """One ``tests/<name>.py`` file in otter-grader's OK format."""
    spec = {
        "name": test.name,
        "points": points,
        "suites": [{
            "cases": [{"code": case, "hidden": False, "locked": False} for case in test.cases],
            "scored": True, "setup": "", "teardown": "", "type": "doctest",
        }],
    }
    return "OK_FORMAT = True\n\ntest = " + pprint.pformat(spec, width=100, sort_dicts=False) + "\n"
