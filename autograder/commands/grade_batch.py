"""``autograder grade-batch EXERCISE SUBMISSIONS --out DIR``: grade a whole class on Dask."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from autograder.batch import BatchLockedError, BatchReport, BatchSettings, run_batch
from autograder.batch.exports import ExportError
from autograder.batch.progress import make_progress
from autograder.batch.scheduler import (
    SchedulerSettingsError,
    SchedulerUnreachableError,
    TlsFiles,
)
from autograder.commands.options import (
    add_grading_options,
    limit_overrides,
    sandbox_options,
)
from autograder.reporters.summary import terminal_text

EXIT_STOPPED = 3
# Docker grades run in one warm container per worker (docs/sandbox.md); --no-warm starts a
# fresh container per submission, with the same results.
WARM_DEFAULT = True


def main(*, exercise: str, submissions: Path, out: Path, workers: int | None = None,
         scheduler: str | None = None, max_failures: int | None = 10, sandbox: str = "auto",
         mode: str = "full", gpus: str | None = None, limits: dict[str, Any] | None = None,
         sandbox_settings: dict[str, Any] | None = None,
         cache_dir: Path | None = None, tls: TlsFiles | None = None,
         warm: bool = WARM_DEFAULT) -> BatchReport:
    """Grade every submission in ``submissions`` (a folder or a Canvas/Gradescope export
    zip) and write results, a gradebook CSV and a summary to ``out``. ``warm``: the Docker
    sandbox keeps one warm container per worker instead of one container per submission."""
    sandbox_settings = {**(sandbox_settings or {}), **({"warm": True} if warm else {})}
    settings = BatchSettings(exercise=exercise, submissions=submissions, out=out,
                             workers=workers, scheduler=scheduler, max_failures=max_failures,
                             sandbox=sandbox, sandbox_settings=sandbox_settings,
                             mode=mode, gpus=gpus, limits=limits or {}, cache_dir=cache_dir,
                             tls=tls or TlsFiles())
    progress = make_progress(sys.stderr)
    report = run_batch(settings, progress)
    missing = report.missing
    sys.stderr.write(
        f"grade-batch: {len(report.results)} of {len(report.submissions)} results in "
        f"{out / 'results'} ({report.graded_now} graded now, {report.from_cache} from the "
        f"cache) in {report.wall_seconds:.1f} s; gradebook {out / 'gradebook.csv'}, summary "
        f"{out / 'summary.md'}\n")
    if report.skipped:
        # Names from the export are the students' text: printed, never obeyed.
        sys.stderr.write("grade-batch: skipped, not graded:\n" + "".join(
            f"  {terminal_text(line)}\n" for line in report.skipped))
    if missing:
        sys.stderr.write(f"grade-batch: not graded yet: {', '.join(missing[:20])}"
                         f"{' …' if len(missing) > 20 else ''}\n")
    if report.stopped:
        sys.stderr.write(f"grade-batch: {report.stopped}\n")
    return report


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grade-batch", help="grade a folder or LMS export of submissions on Dask")
    parser.add_argument("exercise", help="exercise id (see `autograder list`)")
    parser.add_argument("submissions", type=Path,
                        help="a folder (one .ipynb, .zip or sub-folder per submission) or a "
                             "Canvas/Gradescope submission-export zip")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--workers", type=int, default=None,
                        help="local Dask worker processes (default: one per core)")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running Dask scheduler: tls://host:8786 (with "
                             "the --tls-* files or Dask's TLS configuration) or tcp://")
    parser.add_argument("--tls-ca-file", type=Path, default=None,
                        help="CA certificate that signed the scheduler's (tls:// only)")
    parser.add_argument("--tls-cert", type=Path, default=None,
                        help="this client's certificate (tls:// only)")
    parser.add_argument("--tls-key", type=Path, default=None,
                        help="this client's private key (tls:// only)")
    parser.add_argument("--max-failures", type=int, default=10,
                        help="stop after this many sandbox-level failures (0: never)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="result cache (default: $AUTOGRADER_CACHE_DIR or OUT/cache)")
    parser.add_argument("--warm", action=argparse.BooleanOptionalAction, default=WARM_DEFAULT,
                        help="Docker: grade in one warm container per worker, forking a fresh "
                             "isolated kernel per submission (--no-warm: a new container per "
                             "submission; same results)")
    add_grading_options(parser)

    def handle(args: argparse.Namespace) -> int:
        try:
            report = main(exercise=args.exercise, submissions=args.submissions, out=args.out,
                          workers=args.workers, scheduler=args.scheduler,
                          max_failures=args.max_failures, sandbox=args.sandbox,
                          mode=args.mode, gpus=args.gpus, limits=limit_overrides(args),
                          sandbox_settings=sandbox_options(args), cache_dir=args.cache_dir,
                          tls=TlsFiles(args.tls_ca_file, args.tls_cert, args.tls_key),
                          warm=args.warm)
        except (ExportError, BatchLockedError, SchedulerSettingsError,
                SchedulerUnreachableError) as exc:
            # The export as a whole, the output folder, the scheduler: a message, never a
            # traceback.
            sys.stderr.write(f"autograder: error: {exc}\n")
            return 2
        return EXIT_STOPPED if report.stopped else 0

    parser.set_defaults(handler=handle)
