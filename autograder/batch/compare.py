"""Comparing two runs of a batch "apart from timings": the same scores, statuses and
messages, with execution times blanked.

Vectorization tests also judge from measured speed (autograder/judge/vectorization.py): on
a loaded machine a vectorized function can measure slower than the limit, so that verdict
is a timing too. A test whose message quotes a measured speed ("ns per sample") is left out
of the comparison, and its points out of the total; a verdict from reading the source
("uses a for loop") is compared like any other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MEASURED_SPEED = "ns per sample"


def timing_based(test: dict[str, Any]) -> bool:
    return MEASURED_SPEED in str(test.get("output", ""))


def without_timings(result: dict[str, Any]) -> dict[str, Any]:
    tests, measured = [], 0.0
    for test in result["tests"]:
        if timing_based(test):
            measured += float(test["score"])
            tests.append({"name": test["name"], "verdict": "from measured speed"})
        else:
            tests.append(test)
    return {**result, "execution_time": None, "tests": tests,
            "score": round(float(result["score"]) - measured, 6)}


def comparable_results(out: Path) -> dict[str, dict[str, Any]]:
    """The results in a batch's output folder, by submission, timings blanked."""
    return {path.stem: without_timings(json.loads(path.read_text(encoding="utf-8")))
            for path in sorted((out / "results").glob("*.json"))}


def differences(first: Path, second: Path) -> list[str]:
    """Submissions whose results differ (or exist in one run only), timings aside."""
    a, b = comparable_results(first), comparable_results(second)
    return sorted(s for s in a.keys() | b.keys() if a.get(s) != b.get(s))


def timing_verdict_flips(first: Path, second: Path) -> int:
    """How many test verdicts taken from measured speed differ between two runs."""
    flips = 0
    for path in (first / "results").glob("*.json"):
        other = second / "results" / path.name
        if not other.exists():
            continue
        a = {t["name"]: t["status"] for t in json.loads(path.read_text())["tests"]}
        b = {t["name"]: t["status"] for t in json.loads(other.read_text())["tests"]}
        flips += sum(1 for name in a if name in b and a[name] != b[name])
    return flips
