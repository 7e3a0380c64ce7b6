"""Built-in wrong answers that ``autograder validate`` grades to prove the grader is fair.

``graders/<id>/variants/<name>.toml``::

    description = "Right answers computed with loops over the samples"
    fails = ["mse is vectorized"]          # exactly these tests must fail
    [cells]
    mse = '''def mse(y, y_hat): ...'''     # replaces the cell whose autograder id is "mse"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder.exercises import Exercise


@dataclass
class Variant:
    name: str
    description: str
    fails: list[str]
    cells: dict[str, str] = field(default_factory=dict)
    mode: str = "full"

    def notebook(self, exercise: Exercise) -> NotebookNode:
        notebook = nbformat.read(exercise.solution_path, as_version=4)
        replaced = set()
        for cell in notebook.cells:
            cell_id = cell.get("metadata", {}).get("autograder", {}).get("id")
            if cell_id in self.cells:
                cell["source"] = self.cells[cell_id]
                replaced.add(cell_id)
        missing = set(self.cells) - replaced
        if missing:
            raise ValueError(f"variant {self.name!r} of {exercise.id} names cells that the "
                             f"solution lacks: {', '.join(sorted(missing))}")
        return notebook


def load_variants(exercise: Exercise) -> list[Variant]:
    variants = []
    for path in sorted((exercise.grader_dir / "variants").glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        variants.append(Variant(name=path.stem, description=data.get("description", ""),
                                fails=list(data.get("fails", [])),
                                cells=dict(data.get("cells", {})),
                                mode=data.get("mode", "full")))
    return variants


def write_notebook(notebook: NotebookNode, path: Path) -> Path:
    path.write_text(nbformat.writes(notebook), encoding="utf-8")
    return path
