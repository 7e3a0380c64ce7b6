"""Benchmark (a): one mse solution graded by this project's local sandbox, by a bare
nbclient run (the floor: executing the notebook and nothing else) and by ``otter run`` from
otter-grader on the same notebook with equivalent OK-format tests. Each is a fresh process,
timed from the command line, ``--repeat`` times; the table shows medians and ratios.

    PYTHONPATH=$PWD python benchmarks/single_submission.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "solutions" / "mse" / "mse.ipynb"

# The same checks as graders/mse/tests.py (values only: otter has no vectorization check).
# Each OK-format case is self-contained: otter runs cases in separate scopes.
_DATA = (">>> rng = np.random.default_rng(1); a, b = rng.normal(size=40), rng.normal(size=40)\n"
         ">>> X = np.column_stack([np.ones(40), rng.normal(size=(40, 2))])\n"
         ">>> w, y = rng.normal(size=(3, 1)), rng.normal(size=(40, 1)); e = X @ w - y\n")
OTTER_CASES = [
    ">>> bool(np.isclose(mse(np.full(5, 4.0), np.array([4.0, 3, 5, 7, 8])), 5.4))\nTrue",
    _DATA + ">>> bool(np.isclose(mse(a, b), np.mean((a - b) ** 2)))\nTrue",
    _DATA + ">>> bool(np.isclose(mse(a.reshape(-1, 1), b.reshape(-1, 1)), "
            "np.mean((a - b) ** 2)))\nTrue",
    ">>> bool(np.isclose(mse(np.array([2.5]), np.array([-1.0])), 12.25))\nTrue",
    _DATA + ">>> isinstance(mse(a.reshape(-1, 1), b.reshape(-1, 1)), float)\nTrue",
    _DATA + ">>> bool(np.isclose(cost(X, y, w), (e.T @ e).item() / 80))\nTrue",
    _DATA + ">>> bool(np.isclose(cost(X, y.ravel(), w.ravel()), (e.T @ e).item() / 80))\nTrue",
    _DATA + ">>> bool(np.isclose(cost(X, X @ w, w), 0.0))\nTrue",
    _DATA + ">>> isinstance(cost(X, y, w), float)\nTrue",
]


def otter_autograder(folder: Path) -> Path:
    """A minimal otter autograder zip: an OK-format test file and an empty config."""
    cases = [{"code": code, "hidden": False, "locked": False} for code in OTTER_CASES]
    test = {"name": "mse", "points": 15, "suites": [{
        "cases": cases, "scored": True, "setup": "", "teardown": "",
        "type": "doctest"}]}
    archive = folder / "autograder.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("otter_config.json", "{}")
        handle.writestr("tests/mse.py", f"OK_FORMAT = True\n\ntest = {test!r}\n")
    return archive


BARE_NBCLIENT = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
"""


def timed(command: list[str], cwd: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copy(NOTEBOOK, work / "mse.ipynb")
        archive = otter_autograder(work)
        commands = {
            "autograder grade (local sandbox)": [sys.executable, "-m", "autograder", "grade",
                                                 "mse", "mse.ipynb", "--sandbox", "local",
                                                 "--out", "result.json"],
            "bare nbclient run": [sys.executable, "-c", BARE_NBCLIENT, "mse.ipynb"],
            "otter run": [sys.executable, "-m", "otter", "run", "-a", str(archive),
                          "-o", str(work / "otter-out"), "--no-logo", "mse.ipynb"],
        }
        (work / "otter-out").mkdir()
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):  # interleaved, so load changes hit all three alike
            for name, command in commands.items():
                times[name].append(timed(command, work))
        ours = json.loads((work / "result.json").read_text())
        otter = json.loads((work / "otter-out" / "results.json").read_text())
        otter_score = sum(float(t.get("score") or 0) for t in otter.get("tests", []))
        otter_max = sum(float(t.get("max_score") or 0) for t in otter.get("tests", []))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"mse solution, {args.repeat} runs each, median wall seconds per process")
    print(f"{'':34} {'median s':>9} {'min s':>7} {'× otter':>8} {'× nbclient':>11}")
    for name, median in medians.items():
        print(f"{name:34} {median:9.2f} {min(times[name]):7.2f} "
              f"{median / medians['otter run']:8.2f} {median / medians['bare nbclient run']:11.2f}")
    print(f"scores: autograder {ours['score']:g}/{ours['max_score']:g}, "
          f"otter {otter_score:g}/{otter_max:g}")


if __name__ == "__main__":
    main()
