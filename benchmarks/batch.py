"""Benchmarks (b), (c) and (d) for ``grade-batch`` on a made-up class of 40 mse submissions
(autograder/batch/demo.py: right, wrong, crashing, endless and malformed notebooks):

(b) a LocalCluster with 1 and with 2 workers: wall time, throughput and speed-up;
(c) the same batch regraded unchanged: seconds per submission, served from the cache;
(d) a Dask scheduler and two workers started as separate processes on 127.0.0.1: the
    results must equal the local run's apart from timings.

    PYTHONPATH=$PWD python benchmarks/batch.py [--timeout 25] [--skip-one-worker]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.batch.compare import differences
from autograder.batch.demo import write_class
from autograder.exercises import get_exercise

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def grade_batch(submissions: Path, out: Path, timeout: str, *extra: str) -> float:
    command = [sys.executable, "-m", "autograder", "grade-batch", "mse", str(submissions),
               "--out", str(out), "--sandbox", "local", "--timeout", timeout, *extra]
    start = time.perf_counter()
    done = subprocess.run(command, env=ENV, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"grade-batch failed:\n{done.stderr[-3000:]}")
    return seconds


def summary_run(out: Path) -> dict[str, object]:
    return dict(json.loads((out / "summary.json").read_text())["run"])


def start_cluster(folder: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    scheduler_file = folder / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    processes = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                   "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                                  env=ENV, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)]
    processes += [subprocess.Popen([*dask, "worker", "--scheduler-file", str(scheduler_file),
                                    "--nworkers", "1", "--nthreads", "1", "--host",
                                    "127.0.0.1", "--no-dashboard"],
                                   env=ENV, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
                  for _ in range(2)]
    from distributed import Client

    while not scheduler_file.exists():
        time.sleep(0.2)
    with Client(scheduler_file=str(scheduler_file), timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
        return str(client.scheduler.address), processes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timeout", default="25", help="per-submission time limit, seconds")
    parser.add_argument("--skip-one-worker", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_class(get_exercise("mse"), work / "class")
        rows = []
        walls: dict[int, float] = {}
        for workers in ([2] if args.skip_one_worker else [1, 2]):
            out = work / f"local-{workers}"
            walls[workers] = grade_batch(work / "class", out, args.timeout,
                                         "--workers", str(workers))
            rows.append((f"LocalCluster, {workers} worker{'s' * (workers > 1)}",
                         walls[workers], 40 / walls[workers] * 60,
                         walls[1] / walls[workers] if 1 in walls else None))
        print("(b) 40 mse submissions, grade-batch wall seconds (whole command)")
        print(f"{'':28} {'wall s':>8} {'subm./min':>10} {'speed-up':>9}")
        for name, wall, per_minute, speedup in rows:
            print(f"{name:28} {wall:8.1f} {per_minute:10.1f} "
                  f"{'' if speedup is None else f'{speedup:8.2f}×':>9}")

        cached_wall = grade_batch(work / "class", work / "local-2", args.timeout)
        run = summary_run(work / "local-2")
        print("\n(c) the same 40 regraded unchanged")
        print(f"from cache {run['from_cache']}, graded {run['graded_now']}; whole command "
              f"{cached_wall:.2f} s ({cached_wall / 40:.3f} s per submission); inside "
              f"grade-batch {run['wall_seconds']:.2f} s "
              f"({float(str(run['wall_seconds'])) / 40:.4f} s per submission)")

        address, processes = start_cluster(work)
        try:
            scheduler_wall = grade_batch(work / "class", work / "scheduler", args.timeout,
                                         "--scheduler", address)
        finally:
            for process in processes:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        differ = differences(work / "local-2", work / "scheduler")
        print("\n(d) dask scheduler + 2 dask workers (separate processes, 127.0.0.1) vs local")
        print(f"{'':28} {'wall s':>8} {'results':>8} {'differ':>7}")
        print(f"{'LocalCluster, 2 workers':28} {walls[2]:8.1f} {40:8d} {'':>7}")
        print(f"{'scheduler, 2 workers':28} {scheduler_wall:8.1f} "
              f"{len(list((work / 'scheduler' / 'results').glob('*.json'))):8d} "
              f"{len(differ):7d}")
        if differ:
            print("different (timings aside):", ", ".join(differ))


if __name__ == "__main__":
    main()
