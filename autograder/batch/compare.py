"""Comparing two runs of a batch "apart from timings": the same scores, statuses and
messages, with execution times and the speeds quoted by vectorization tests blanked."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

_TIMINGS = [(re.compile(r"\d+(?:\.\d+)? ns per sample"), "N ns per sample"),
            (re.compile(r"growing \d+×"), "growing N×")]


def without_timings(result: dict[str, Any]) -> dict[str, Any]:
    tests = []
    for test in result["tests"]:
        output = test["output"]
        for pattern, replacement in _TIMINGS:
            output = pattern.sub(replacement, output)
        tests.append({**test, "output": output})
    return {**result, "execution_time": None, "tests": tests}


def comparable_results(out: Path) -> dict[str, dict[str, Any]]:
    """The results in a batch's output folder, by submission, timings blanked."""
    return {path.stem: without_timings(json.loads(path.read_text(encoding="utf-8")))
            for path in sorted((out / "results").glob("*.json"))}


def differences(first: Path, second: Path) -> list[str]:
    """Submissions whose results differ (or exist in one run only), timings aside."""
    a, b = comparable_results(first), comparable_results(second)
    return sorted(s for s in a.keys() | b.keys() if a.get(s) != b.get(s))
