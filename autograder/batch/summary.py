"""The batch summary: score distribution, pass rate per test, slowest submissions, and
errors grouped by cause. Everything that depends on timing sits under ``slowest`` and
``run``, so two runs of the same batch can be compared without them."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from typing import Any

from autograder.batch.failures import sandbox_failure
from autograder.results import GradeResult
from autograder.templating import render as render_template

SLOWEST = 10
EXAMPLES_PER_CAUSE = 5
_FILE_NAME = re.compile(r"[^\s()'\",]+\.(?:ipynb|zip)\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def cause_of(error: str) -> str:
    """The error's first line with file names and numbers blanked, so that the same
    mistake in different notebooks falls into one group."""
    first = error.strip().splitlines()[0] if error.strip() else "(empty message)"
    return _NUMBER.sub("N", _FILE_NAME.sub("<notebook>", first))[:200]


def build(*, exercise: str, grader_version: str, sandbox: str, submissions: list[str],
          results: dict[str, GradeResult], test_names: list[str],
          run: dict[str, Any]) -> dict[str, Any]:
    graded = [results[s] for s in submissions if s in results]
    scores = [r.score for r in graded]
    max_score = max((r.max_score for r in graded), default=0.0)
    tests = []
    for name in test_names:
        statuses = Counter(t.status for r in graded for t in r.tests if t.name == name)
        total = sum(statuses.values())
        tests.append({"name": name, "passed": statuses["passed"], "failed": statuses["failed"],
                      "error": statuses["error"],
                      "pass_rate": round(statuses["passed"] / total, 4) if total else None})
    groups: dict[str, list[str]] = defaultdict(list)
    for submission in submissions:
        if submission in results:
            for cause in dict.fromkeys(cause_of(e) for e in results[submission].errors):
                groups[cause].append(submission)
    # By code: what kind of problem, counted once per submission (never by the words).
    by_code = Counter(code for s in submissions if s in results
                      for code in {p.code.value for p in results[s].problems})
    errors = [{"cause": cause, "count": len(ids), "examples": ids[:EXAMPLES_PER_CAUSE]}
              for cause, ids in sorted(groups.items(), key=lambda item: (-len(item[1]),
                                                                         item[0]))]
    slowest = sorted(((results[s].execution_time, s) for s in submissions if s in results),
                     reverse=True)[:SLOWEST]
    return {
        "exercise": exercise,
        "grader_version": grader_version,
        "sandbox": sandbox,
        "submissions": len(submissions),
        "graded": len(graded),
        "missing": [s for s in submissions if s not in results],
        "sandbox_failures": sorted(s for s in submissions
                                   if s in results and sandbox_failure(results[s])),
        "max_score": max_score,
        "score": _statistics(scores),
        "full_marks": sum(1 for r in graded if r.max_score and r.score == r.max_score),
        "zero": sum(1 for r in graded if r.score == 0),
        "distribution": [{"score": score, "count": count}
                         for score, count in sorted(Counter(scores).items())],
        "tests": tests,
        "problems": dict(sorted(by_code.items())),
        "errors": errors,
        "slowest": [{"submission": s, "seconds": seconds} for seconds, s in slowest],
        "run": run,
    }


def _statistics(scores: list[float]) -> dict[str, float | None]:
    if not scores:
        return {"mean": None, "median": None, "min": None, "max": None, "stdev": None}
    return {"mean": round(statistics.fmean(scores), 4),
            "median": statistics.median(scores), "min": min(scores), "max": max(scores),
            "stdev": round(statistics.pstdev(scores), 4)}


def render_markdown(summary: dict[str, Any]) -> str:
    widest = max((d["count"] for d in summary["distribution"]), default=1)
    bars = {d["score"]: "█" * max(1, round(30 * d["count"] / widest))
            for d in summary["distribution"]}
    return render_template("batch/summary.md.j2", summary=summary, bars=bars)
