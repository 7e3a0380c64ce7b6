"""Comparing two runs of a batch "apart from timings": the same scores, statuses and
messages, with execution times and the sandbox's log (staff-only, it names temporary
folders and process ids) blanked. (Vectorization verdicts word a pass the same on every
run, so they compare like any other test.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def without_timings(result: dict[str, Any]) -> dict[str, Any]:
    return {**result, "execution_time": None, "sandbox_log": None}


def comparable_results(out: Path, only: set[str] | None = None) -> dict[str, dict[str, Any]]:
    """The results in a batch's output folder (those in ``only``, if given), by
    submission, timings blanked."""
    return {path.stem: without_timings(json.loads(path.read_text(encoding="utf-8")))
            for path in sorted((out / "results").glob("*.json"))
            if only is None or path.stem in only}


def differences(first: Path, second: Path) -> list[str]:
    """Submissions whose results differ (or exist in one run only), timings aside."""
    a, b = comparable_results(first), comparable_results(second)
    return sorted(s for s in a.keys() | b.keys() if a.get(s) != b.get(s))
