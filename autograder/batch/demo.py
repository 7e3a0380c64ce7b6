"""A made-up class of submissions for an exercise, built from its solution: right answers,
the grader's wrong variants, crashes, a dead kernel, endless cells and malformed files.
Used to try ``grade-batch``, in its tests and in the benchmarks."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import nbformat

from autograder.exercises import Exercise
from autograder.release.variants import load_variants

# Forty kinds, interleaved so that any slice of the class is a mix.
CLASS_OF_40 = (["correct", "loops", "crash", "correct", "slide-typo", "malformed-json",
                "correct", "sum-not-mean", "timeout", "correct"] * 2
               + ["correct", "loops", "not-written", "correct", "slide-typo", "two-notebooks",
                  "correct", "kernel-death", "unsafe-zip", "correct"]
               + ["correct", "loops", "crash", "correct", "slide-typo", "nbformat-3",
                  "correct", "not-written", "correct", "correct"])

SUM_NOT_MEAN = ("def mse(y, y_hat):\n"
                "    return float(np.sum((np.ravel(y) - np.ravel(y_hat)) ** 2))\n")
NOT_WRITTEN = "def {name}(*args):\n    raise NotImplementedError\n"


def _signed(notebook: nbformat.NotebookNode, student: str) -> nbformat.NotebookNode:
    """Every student's notebook differs a little, as real ones do."""
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell(f"Submitted by {student}."))
    return notebook


def _replaced(exercise: Exercise, cells: dict[str, str]) -> nbformat.NotebookNode:
    notebook = nbformat.read(exercise.solution_path, as_version=4)
    for cell in notebook.cells:
        cell_id = cell.get("metadata", {}).get("autograder", {}).get("id")
        if cell_id in cells:
            cell["source"] = cells[cell_id]
    return notebook


def _with_cell(exercise: Exercise, source: str) -> nbformat.NotebookNode:
    notebook = nbformat.read(exercise.solution_path, as_version=4)
    notebook.cells.insert(2, nbformat.v4.new_code_cell(source))
    return notebook


def _notebook(exercise: Exercise, kind: str) -> nbformat.NotebookNode:
    variants = {v.name: v for v in load_variants(exercise)}
    if kind in variants:
        return variants[kind].notebook(exercise)
    if kind == "sum-not-mean":
        return _replaced(exercise, {"mse": SUM_NOT_MEAN})
    if kind == "not-written":
        return _replaced(exercise, {f: NOT_WRITTEN.format(name=f) for f in exercise.functions})
    if kind == "crash":
        return _with_cell(exercise, "ratio = 1 / 0")
    if kind == "kernel-death":
        return _with_cell(exercise, "import os\nos._exit(1)")
    if kind == "timeout":
        return _with_cell(exercise, "import time\ntime.sleep(3600)")
    return nbformat.read(exercise.solution_path, as_version=4)


def write_submission(exercise: Exercise, kind: str, folder: Path, name: str) -> Path:
    """One submission of ``kind`` named ``name`` in ``folder``; returns its path."""
    if kind == "malformed-json":
        path = folder / f"{name}.ipynb"
        path.write_text('{"cells": [', encoding="utf-8")
    elif kind == "nbformat-3":
        path = folder / f"{name}.ipynb"
        path.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": [],
                                    "metadata": {}, "cells": []}), encoding="utf-8")
    elif kind == "two-notebooks":
        path = folder / name
        path.mkdir()
        for copy in ("draft.ipynb", "final.ipynb"):
            nbformat.write(_signed(_notebook(exercise, "correct"), name), path / copy)
    elif kind == "unsafe-zip":
        path = folder / f"{name}.zip"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("../escape.ipynb", nbformat.writes(_notebook(exercise, "correct")))
        path.write_bytes(buffer.getvalue())
    else:
        path = folder / f"{name}.ipynb"
        nbformat.write(_signed(_notebook(exercise, kind), name), path)
    return path


def write_class(exercise: Exercise, folder: Path, kinds: list[str] | None = None
                ) -> dict[str, str]:
    """Write a class into ``folder``; returns submission id → kind."""
    folder.mkdir(parents=True, exist_ok=True)
    roster: dict[str, str] = {}
    for number, kind in enumerate(kinds or CLASS_OF_40, start=1):
        name = f"student-{number:02d}-{kind}"
        write_submission(exercise, kind, folder, name)
        roster[name] = kind
    return roster
