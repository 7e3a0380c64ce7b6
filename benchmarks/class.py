"""A class graded with ``grade-batch`` in the Docker sandbox, warm and cold, on 1 and 2
workers; the projection for a whole course; and mse next to otter-grader's ``otter run``.

The class is made the way students make one: each hand-in is the course solution, run as
a student runs it, with a small change of its own —
- NumPy exercises (mse, min-max-scaling, gradient-descent, xor): the notebook with a note
  cell of its own (distinct bytes; the grader runs the notebook);
- Keras exercises in ``--mode fast`` (by default fashion-mnist and cnn; any of the six can
  be named): the solution is run once (it trains and saves its models), then every hand-in
  gets those models with their weights perturbed by its own small noise (about 0.1 % of
  each tensor's spread), any other file it saved (a scaler) as it is, and its own note
  cell: distinct models that score as a real class's would.

For each exercise and each of (1, 2 workers) × (warm, cold) a fresh ``grade-batch`` runs
on the whole class (no cache), and the table prints, per run:
- the wall time of the whole ``grade-batch`` command;
- seconds per submission per worker over that wall time (wall × workers / submissions),
  so the batch's one-off start-up (Dask, each worker's first container and its zygote's
  imports, the judge's TensorFlow) is shared by only this class's hand-ins;
- the same in steady state, from the grading log: the time between one worker's
  consecutive results, over all workers; what each further hand-in costs a worker;
- the start-up: wall time beyond what the hand-ins would take at the steady pace;
- the median grade time, the speed-up of warm over cold (steady state), and whether warm
  and cold results are identical (timings aside).
The projection for 3,000 submissions (300 students × 4 NumPy + 6 Keras exercises) on
2 workers uses the warm 2-worker figures: each exercise at its steady pace plus its
start-up once; an exercise not measured counts at the mean of the measured ones of its
kind. The goals are checked against the steady figures of every warm run.

    PYTHONPATH=$PWD python benchmarks/class.py [--per-exercise 20] [--exercises mse cnn]
                                               [--workers 1 2] [--sandboxes warm cold]
                                               [--cold-exercises mse cnn] [--otter-repeat 3]
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
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.batch.compare import differences  # noqa: E402
from autograder.exercises import Exercise, get_exercise  # noqa: E402
from benchmarks.fast_vs_full import make_handin  # noqa: E402
from benchmarks.single_submission import NOTEBOOK, otter_autograder  # noqa: E402

NUMPY = ("mse", "min-max-scaling", "gradient-descent", "xor")
KERAS_FAST = ("linear-regression", "admission", "mnist", "fashion-mnist", "cnn", "own-images")
MODEL_SUFFIXES = (".keras", ".h5")
COURSE_NUMPY, COURSE_KERAS, STUDENTS = 4, 6, 300


@dataclass
class Run:
    exercise: str
    workers: int
    warm: bool
    submissions: int
    wall_s: float
    grade_s: list[float]
    out: Path
    stored: dict[int, list[float]]  # worker pid → when each of its results was stored

    @property
    def per_submission_worker(self) -> float:
        return self.wall_s * self.workers / self.submissions

    @property
    def steady_s(self) -> float:
        """Seconds per submission per worker after each worker's first result."""
        spans = [(max(times) - min(times), len(times) - 1) for times in self.stored.values()
                 if len(times) > 1]
        intervals = sum(n for _, n in spans)
        return sum(span for span, _ in spans) / intervals if intervals else float("nan")

    @property
    def startup_s(self) -> float:
        """Wall time beyond the hand-ins at the steady pace: Dask, each worker's first
        container (its zygote's imports), the judge's imports, the shutdown."""
        return max(0.0, self.wall_s - self.submissions * self.steady_s / self.workers)


def note_cell(notebook: nbformat.NotebookNode, k: int) -> nbformat.NotebookNode:
    notebook.cells.append(nbformat.v4.new_code_cell(
        f"# My notes (attempt {k}): checked the shapes, re-ran everything.\nmy_attempt = {k}"))
    return notebook


def numpy_class(exercise: Exercise, count: int, folder: Path) -> None:
    folder.mkdir(parents=True)
    for k in range(count):
        notebook = note_cell(nbformat.read(exercise.solution_path, as_version=4), k)
        nbformat.write(notebook, folder / f"student-{k:03d}.ipynb")


def keras_class(exercise: Exercise, count: int, folder: Path, work: Path) -> None:
    import keras

    trained = make_handin(exercise, nbformat.read(exercise.solution_path, as_version=4),
                          work / f"{exercise.id}-trained")
    folder.mkdir(parents=True)
    for k in range(count):
        target = folder / f"student-{k:03d}"
        target.mkdir()
        notebook = note_cell(nbformat.read(trained / f"{exercise.id}.ipynb", as_version=4), k)
        nbformat.write(notebook, target / f"{exercise.id}.ipynb")
        rng = np.random.default_rng(k)
        for name in exercise.required_files:
            if not name.endswith(MODEL_SUFFIXES):  # a saved scaler: handed in as saved
                shutil.copy(trained / name, target / name)
                continue
            model = keras.saving.load_model(trained / name, compile=True)
            model.set_weights([w + rng.normal(0.0, 1e-3 * (float(np.std(w)) or 1.0), w.shape)
                               .astype(w.dtype) for w in model.get_weights()])
            model.save(target / name)


def grade_batch(exercise: str, submissions: Path, out: Path, workers: int, warm: bool,
                fast: bool) -> Run:
    command = [sys.executable, "-m", "autograder", "grade-batch", exercise, str(submissions),
               "--out", str(out), "--sandbox", "docker", "--workers", str(workers),
               "--max-failures", "0", "--warm" if warm else "--no-warm"]
    if fast:
        command += ["--mode", "fast"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"grade-batch failed:\n{done.stderr[-3000:]}")
    results = [json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))]
    stored: dict[int, list[float]] = {}
    for line in (out / "grading.log").read_text().splitlines():
        event = json.loads(line)
        if event["event"] == "stored":
            stored.setdefault(int(event["pid"]), []).append(float(event["time"]))
    return Run(exercise, workers, warm, len(results), wall,
               [float(r["execution_time"]) for r in results], out, stored)


def otter_seconds(repeat: int, work: Path) -> float:
    """Median wall time of ``otter run`` on the mse solution (fresh process each)."""
    folder = work / "otter"
    (folder / "out").mkdir(parents=True)
    shutil.copy(NOTEBOOK, folder / "mse.ipynb")
    archive = otter_autograder(folder)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(archive), "-o",
                        str(folder / "out"), "--no-logo", "mse.ipynb"], cwd=folder,
                       check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def table(runs: list[Run]) -> str:
    cold = {(r.exercise, r.workers): r for r in runs if not r.warm}
    rows = [("exercise", "workers", "sandbox", "n", "wall s", "s/sub/worker",
             "steady s/sub/worker", "start-up s", "median grade s", "speed-up",
             "same as cold")]
    for r in runs:
        base = cold.get((r.exercise, r.workers))
        speed = f"{base.steady_s / r.steady_s:.1f}×" if base and r.warm else ""
        same = ("yes" if not differences(r.out / "results", base.out / "results") else "NO") \
            if base and r.warm else ""
        rows.append((r.exercise, str(r.workers), "warm" if r.warm else "cold",
                     str(r.submissions), f"{r.wall_s:.1f}", f"{r.per_submission_worker:.2f}",
                     f"{r.steady_s:.2f}", f"{r.startup_s:.1f}",
                     f"{statistics.median(r.grade_s):.2f}", speed, same))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def projection(runs: list[Run]) -> tuple[str, float | None]:
    """3,000 submissions on 2 workers from the warm runs with the most workers measured:
    each measured exercise at its steady pace, plus its start-up once; an exercise of the
    course not measured at the mean of its kind's. Returns the text and the minutes."""
    warm = [r for r in runs if r.warm]
    if not warm:
        return "", None
    most = max(r.workers for r in warm)
    chosen = [r for r in warm if r.workers == most]
    lines = [f"projection: {STUDENTS} students × ({COURSE_NUMPY} NumPy + {COURSE_KERAS} Keras "
             f"fast) = {STUDENTS * (COURSE_NUMPY + COURSE_KERAS)} submissions on 2 workers "
             f"(warm, from the {most}-worker runs)"]
    total: float | None = 0.0
    for label, names, count in (("NumPy", NUMPY, COURSE_NUMPY),
                                ("Keras fast", KERAS_FAST, COURSE_KERAS)):
        picked = [r for r in chosen if r.exercise in names]
        if not picked:
            lines.append(f"  {label}: not measured in this run")
            total = None
            continue
        # steady_s is one worker's pace: two workers share the 300 hand-ins.
        minutes = [(STUDENTS * r.steady_s / 2 + r.startup_s) / 60 for r in picked]
        part = count * statistics.mean(minutes)
        total = None if total is None else total + part
        measured = ", ".join(f"{r.exercise} {r.steady_s:.2f} s" for r in picked)
        lines.append(f"  {label} ({len(picked)} of {count} measured, steady s/sub/worker: "
                     f"{measured}) → {part:.1f} min")
    lines.append(f"  class: {total:.1f} min" if total is not None
                 else "  class: not projected (both kinds must be measured)")
    return "\n".join(lines), total


def goals(runs: list[Run], class_minutes: float | None, otter_ratio: float | None) -> str:
    """The issue's goals against this run: every warm run's steady pace."""
    lines = ["goals:"]
    for label, names, bound in (("NumPy", NUMPY, 0.6), ("Keras fast", KERAS_FAST, 3.0)):
        warm = [r for r in runs if r.warm and r.exercise in names]
        if warm:
            worst = max(warm, key=lambda r: r.steady_s)
            lines.append(f"  {label} ≤ {bound:g} s per submission per worker (steady, every "
                         f"warm run): worst {worst.steady_s:.2f} s ({worst.exercise}, "
                         f"{worst.workers} worker(s)) → "
                         f"{'met' if worst.steady_s <= bound else 'NOT met'}")
    if class_minutes is not None:
        lines.append(f"  class ≤ 60 min: {class_minutes:.1f} min → "
                     f"{'met' if class_minutes <= 60 else 'NOT met'}")
    if otter_ratio is not None:
        lines.append(f"  mse ≤ 0.3× otter run: {otter_ratio:.2f}× → "
                     f"{'met' if otter_ratio <= 0.3 else 'NOT met'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-exercise", type=int, default=20)
    parser.add_argument("--exercises", nargs="+", default=[*NUMPY, "fashion-mnist", "cnn"])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--sandboxes", nargs="+", choices=["warm", "cold"],
                        default=["warm", "cold"])
    parser.add_argument("--cold-exercises", nargs="+", default=None,
                        help="grade only these exercises cold too (default: every one)")
    parser.add_argument("--otter-repeat", type=int, default=3)
    args = parser.parse_args()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="autograder-class-") as tmp:
        work = Path(tmp)
        for name in args.exercises:
            exercise = get_exercise(name)
            folder = work / "class" / name
            if name in KERAS_FAST:
                keras_class(exercise, args.per_exercise, folder, work)
            else:
                numpy_class(exercise, args.per_exercise, folder)
            print(f"{name}: {args.per_exercise} hand-ins made", file=sys.stderr, flush=True)
            kinds = [kind for kind in args.sandboxes
                     if kind == "warm" or args.cold_exercises is None
                     or name in args.cold_exercises]
            for workers in args.workers:
                for warm in [kind == "warm" for kind in kinds]:
                    out = work / "out" / f"{name}-{workers}-{'warm' if warm else 'cold'}"
                    runs.append(grade_batch(name, folder, out, workers, warm,
                                            name in KERAS_FAST))
                    print(f"{name}: {workers} workers, {'warm' if warm else 'cold'}: "
                          f"{runs[-1].wall_s:.1f} s", file=sys.stderr, flush=True)
        print(table(runs))
        print()
        text, minutes = projection(runs)
        print(text)
        ratio = None
        mse = [r for r in runs if r.exercise == "mse" and r.warm and r.workers == 1]
        if mse and args.otter_repeat:
            otter = otter_seconds(args.otter_repeat, work)
            ours = mse[0].per_submission_worker
            ratio = ours / otter
            print(f"\nmse: warm {ours:.2f} s per submission (1 worker, start-up included) vs "
                  f"`otter run` {otter:.2f} s per submission → {ratio:.2f}× otter")
        print()
        print(goals(runs, minutes, ratio))


if __name__ == "__main__":
    main()
