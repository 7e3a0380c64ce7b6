"""One student's feedback page (templates/feedback/page.html.j2) from a GradeResult."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autograder.feedback.data import FeedbackData
from autograder.results import GradeResult, TestResult
from autograder.templating import render

# What the student sees about a test; "hidden" tests are counted, never described.
SHOWN_VISIBILITY = {"visible", "after_due_date", "after_published"}
STATUS_TEXT = {"passed": "passed", "failed": "not yet", "error": "could not be checked"}


@dataclass
class ShownTest:
    name: str
    score: float
    max_score: float
    status: str
    status_text: str
    message: str


@dataclass
class ShownPlot:
    title: str
    kind: str
    image: str


def _shown(test: TestResult) -> ShownTest:
    return ShownTest(test.name, test.score, test.max_score, test.status,
                     STATUS_TEXT.get(test.status, test.status), test.output)


def page_context(result: GradeResult) -> dict[str, Any]:
    shown = [t for t in result.tests if t.visibility in SHOWN_VISIBILITY]
    hidden = [t for t in result.tests if t.visibility not in SHOWN_VISIBILITY]
    # matplotlib is slow to import: only pages that draw pay for it, not every CLI start.
    from autograder.feedback.plots import render_plot

    plots = []
    for plot in FeedbackData.from_plain(result.metadata.get("feedback")).plots:
        image = render_plot(plot)
        if image is not None:
            plots.append(ShownPlot(str(plot.get("title", "")), str(plot["kind"]), image))
    percent = 100.0 * result.score / result.max_score if result.max_score else 0.0
    return {
        "exercise": result.exercise,
        "score": result.score,
        "max_score": result.max_score,
        "percent": percent,
        "tests": [_shown(t) for t in shown],
        "hidden_count": len(hidden),
        "to_fix": [_shown(t) for t in shown if t.status != "passed"],
        "errors": list(result.errors),
        "plots": plots,
        "execution_time": result.execution_time,
    }


def render_page(result: GradeResult) -> str:
    """A self-contained HTML page (no scripts, no external resources)."""
    return render("feedback/page.html.j2", **page_context(result))
