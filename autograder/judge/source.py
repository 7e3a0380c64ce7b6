"""Static view of a notebook's code: parsed, never executed."""

from __future__ import annotations

import ast
import gc
import threading
from dataclasses import dataclass, field
from typing import Any

# CPython 3.11 builds AST objects with per-interpreter state that another parse started
# while one is under way corrupts (python/cpython#106905: a spurious "AST constructor
# recursion depth mismatch" SystemError). The lock covers our own parses on other threads
# (validate and Dask grade on threads); it cannot cover the standard library's (traceback
# formatting parses source lines) or a finalizer that the garbage collector runs in the
# middle of a parse, so a parse that meets the error is repeated with the collector paused.
_PARSE_LOCK = threading.Lock()
# ast.parse holds the whole tree in memory: up to ~500 bytes per byte of dense source (a
# 1 MiB list literal took 498 MiB and 9 s here). Bound what is parsed, so a huge cell (still
# under the notebook's size limit) cannot exhaust the judge; workshop cells are a few KiB.
MAX_CELL_SOURCE_BYTES = 256 * 1024
MAX_SOURCE_BYTES = 512 * 1024


def parse_python(text: str) -> ast.Module:
    with _PARSE_LOCK:
        try:
            return ast.parse(text)
        except SystemError as error:
            if "recursion depth mismatch" not in str(error):
                raise
        # With the collector paused no finalizer can run, and without Python code running
        # no other thread can take the interpreter, so nothing can start a parse mid-parse.
        return _parse_with_collector_paused(text)


def _parse_with_collector_paused(text: str) -> ast.Module:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(text)
    finally:
        if was_enabled:
            gc.enable()


# Cell magics whose body IPython runs as Python in the kernel; any other cell magic
# (%%writefile, %%bash, %%html…) makes the body something else, so its defs never run.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}


def _cell_magic(source: str) -> str | None:
    first = source.lstrip().split("\n", 1)[0]
    return first[2:].split(maxsplit=1)[0] if first.startswith("%%") and len(first) > 2 else None


def _python_lines(source: str) -> str:
    # IPython magics and shell escapes are not Python; blank them so line numbers hold.
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        lines.append("" if stripped.startswith(("%", "!", "?")) else line)
    return "\n".join(lines)


@dataclass(frozen=True)
class ParsedCell:
    index: int  # position among all the notebook's cells
    tree: ast.Module
    lines: tuple[str, ...]  # the cell's text, for quoting a line in a message
    magics: tuple[tuple[int, str], ...]  # (line, text) of IPython magics and shell escapes


@dataclass
class NotebookSource:
    """Top-level function definitions found in a notebook's code cells (the last one wins,
    as it would in the kernel), and every parsed cell for the closure analysis."""

    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    unparsable_cells: list[int] = field(default_factory=list)
    oversized_cells: dict[int, str] = field(default_factory=dict)  # index → why not read
    cells: list[ParsedCell] = field(default_factory=list)
    # (cell index, magic name, text) of cells run by a non-Python cell magic
    foreign_cells: list[tuple[int, str, str]] = field(default_factory=list)
    unparsable_text: dict[int, str] = field(default_factory=dict)

    @classmethod
    def from_notebook(cls, notebook: dict[str, Any]) -> NotebookSource:
        found = cls()
        cells = notebook.get("cells", []) if isinstance(notebook, dict) else []
        parsed = 0
        for index, cell in enumerate(cells):
            if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(str(s) for s in source)
            size = len(str(source).encode("utf-8", "replace"))
            if size > MAX_CELL_SOURCE_BYTES or parsed + size > MAX_SOURCE_BYTES:
                found.oversized_cells[index] = _too_large(index, size, parsed)
                continue
            parsed += size
            source = str(source)
            magic = _cell_magic(source)
            if magic is not None and magic not in PYTHON_CELL_MAGICS:
                found.foreign_cells.append((index, magic, source))
                continue
            try:
                tree = parse_python(_python_lines(source))
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                found.unparsable_cells.append(index)
                found.unparsable_text[index] = source
                continue
            lines = tuple(source.splitlines())
            magics = tuple((number, line.strip()) for number, line in enumerate(lines, 1)
                           if line.lstrip().startswith(("%", "!")))
            found.cells.append(ParsedCell(index, tree, lines, magics))
            for node in tree.body:
                if isinstance(node, ast.FunctionDef):
                    found.functions[node.name] = node
        return found

    def function(self, name: str) -> ast.FunctionDef | None:
        return self.functions.get(name)

    def unread_reason(self) -> str:
        """Why some code was not read (empty when all of it was), for checks of the source."""
        return " ".join(self.oversized_cells.values())


def _too_large(index: int, size: int, parsed: int) -> str:
    if size > MAX_CELL_SOURCE_BYTES:
        return (f"Cell {index + 1} is {size / 2**20:.1f} MB; the grader reads at most "
                f"{MAX_CELL_SOURCE_BYTES / 2**20:g} MB of source per cell for the "
                "vectorization check.")
    return (f"Cell {index + 1} was not read: the notebook's code is over the "
            f"{MAX_SOURCE_BYTES / 2**20:g} MB of source the grader reads for the "
            "vectorization check.")
