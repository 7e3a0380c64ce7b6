"""Static view of a notebook's code: parsed, never executed."""

from __future__ import annotations

import ast
import threading
from dataclasses import dataclass, field
from typing import Any

# CPython 3.11 builds AST objects with per-interpreter state that is not safe when two
# threads parse at once (python/cpython#106905: a spurious "AST constructor recursion depth
# mismatch" SystemError). Submissions are graded on threads (validate, Dask workers with
# several threads), so parsing is serialized; it takes milliseconds.
_PARSE_LOCK = threading.Lock()


def parse_python(text: str) -> ast.Module:
    with _PARSE_LOCK:
        return ast.parse(text)


def _python_lines(source: str) -> str:
    # IPython magics and shell escapes are not Python; blank them so line numbers hold.
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        lines.append("" if stripped.startswith(("%", "!", "?")) else line)
    return "\n".join(lines)


@dataclass
class NotebookSource:
    """Top-level function definitions found in a notebook's code cells (the last one wins,
    as it would in the kernel)."""

    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    unparsable_cells: list[int] = field(default_factory=list)

    @classmethod
    def from_notebook(cls, notebook: dict[str, Any]) -> NotebookSource:
        found = cls()
        cells = notebook.get("cells", []) if isinstance(notebook, dict) else []
        for index, cell in enumerate(cells):
            if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(str(s) for s in source)
            try:
                tree = parse_python(_python_lines(str(source)))
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                found.unparsable_cells.append(index)
                continue
            for node in tree.body:
                if isinstance(node, ast.FunctionDef):
                    found.functions[node.name] = node
        return found

    def function(self, name: str) -> ast.FunctionDef | None:
        return self.functions.get(name)
