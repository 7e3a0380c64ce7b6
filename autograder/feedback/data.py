"""Plain data a hidden test may hand to the feedback page (``ctx.feedback``).

Tests fill a :class:`FeedbackData` through the JudgeContext; the pipeline stores it in
``GradeResult.metadata["feedback"]`` as JSON-ready lists, and the feedback page turns it
into plots. Only put here what the student may see: their own predictions and the data
they were given. Never reference answers, hidden inputs or held-out samples — the page
shows everything this object holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_POINTS = 2_000
MAX_EPOCHS = 1_000
MAX_CLASSES = 50
MAX_IMAGES = 16
MAX_IMAGE_SIDE = 64


def _floats(values: Any, limit: int, what: str) -> list[float]:
    array = np.asarray(values, dtype=float).ravel()
    if array.size > limit:
        raise ValueError(f"{what}: at most {limit} values, got {array.size}")
    return [float(v) for v in array]


@dataclass
class FeedbackData:
    """Plots for one submission, in the order the page shows them."""

    plots: list[dict[str, Any]] = field(default_factory=list)

    def regression(self, *, x: Any, y: Any, line_x: Any, line_y: Any, title: str,
                   x_label: str = "x", y_label: str = "y") -> None:
        """The data the student fitted (points) and their model's line over it."""
        self.plots.append({
            "kind": "regression", "title": title, "x_label": x_label, "y_label": y_label,
            "x": _floats(x, MAX_POINTS, "x"), "y": _floats(y, MAX_POINTS, "y"),
            "line_x": _floats(line_x, MAX_POINTS, "line_x"),
            "line_y": _floats(line_y, MAX_POINTS, "line_y"),
        })

    def history(self, *, curves: dict[str, Any], title: str = "Training history") -> None:
        """Loss (and metric) per epoch, e.g. Keras' ``history.history``; long curves are
        thinned to at most MAX_EPOCHS points, keeping each point's epoch number."""
        plain: dict[str, dict[str, list[float]]] = {}
        for name, values in curves.items():
            series = np.asarray(values, dtype=float).ravel()
            keep = np.unique(np.linspace(0, series.size - 1, min(series.size, MAX_EPOCHS))
                             .astype(int)) if series.size else np.zeros(0, dtype=int)
            plain[str(name)] = {"epoch": [float(i + 1) for i in keep],
                                "value": [float(v) for v in series[keep]]}
        self.plots.append({"kind": "history", "title": title, "curves": plain})

    def confusion(self, *, matrix: Any, labels: list[str],
                  title: str = "Confusion matrix") -> None:
        """Counts of (true class, predicted class) on data the student was given."""
        counts = np.asarray(matrix, dtype=int)
        if counts.ndim != 2 or counts.shape[0] != counts.shape[1] \
                or counts.shape[0] != len(labels) or len(labels) > MAX_CLASSES:
            raise ValueError("confusion: a square matrix with one label per class is needed")
        self.plots.append({"kind": "confusion", "title": title,
                           "labels": [str(label) for label in labels],
                           "matrix": counts.tolist()})

    def misclassified(self, *, images: Any, true: list[str], predicted: list[str],
                      title: str = "Images your model got wrong") -> None:
        """A strip of images the model got wrong. Only images from the student's own data."""
        pixels = np.asarray(images, dtype=float)[:MAX_IMAGES]
        if pixels.ndim not in (3, 4) or max(pixels.shape[1:3], default=0) > MAX_IMAGE_SIDE:
            raise ValueError("misclassified: images must be (n, h, w[, c]) with sides ≤ "
                             f"{MAX_IMAGE_SIDE}")
        if len(true) < len(pixels) or len(predicted) < len(pixels):
            raise ValueError("misclassified: one true and one predicted label per image")
        low, high = float(pixels.min(initial=0.0)), float(pixels.max(initial=1.0))
        scaled = (pixels - low) / (high - low or 1.0)
        self.plots.append({"kind": "misclassified", "title": title,
                           "images": np.round(scaled, 3).tolist(),
                           "true": [str(t) for t in true[: len(pixels)]],
                           "predicted": [str(p) for p in predicted[: len(pixels)]]})

    def __bool__(self) -> bool:
        return bool(self.plots)

    def to_plain(self) -> dict[str, Any]:
        return {"plots": list(self.plots)}

    @classmethod
    def from_plain(cls, data: Any) -> FeedbackData:
        plots = data.get("plots", []) if isinstance(data, dict) else []
        return cls(plots=[p for p in plots if isinstance(p, dict) and "kind" in p])
