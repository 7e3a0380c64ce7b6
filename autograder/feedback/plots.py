"""Plots for the feedback page, drawn offline with matplotlib's Agg backend as PNG data URIs."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: no display, no GUI toolkit

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

COLOURS = {"data": "#4c72b0", "line": "#dd8452"}


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    # A fixed Software key and no dates keep the bytes the same for the same data.
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight",
                   metadata={"Software": None})
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _regression(ax: Axes, plot: dict[str, Any]) -> None:
    ax.scatter(plot["x"], plot["y"], s=18, color=COLOURS["data"], label="data")
    order = np.argsort(plot["line_x"])
    ax.plot(np.asarray(plot["line_x"])[order], np.asarray(plot["line_y"])[order],
            color=COLOURS["line"], linewidth=2, label="your model")
    ax.set_xlabel(plot["x_label"])
    ax.set_ylabel(plot["y_label"])
    ax.legend()


def _history(ax: Axes, plot: dict[str, Any]) -> None:
    for name, curve in plot["curves"].items():
        ax.plot(curve["epoch"], curve["value"], marker="." if len(curve["value"]) < 40 else None,
                label=name)
    ax.set_xlabel("epoch")
    ax.legend()


def _confusion(ax: Axes, plot: dict[str, Any]) -> None:
    matrix = np.asarray(plot["matrix"])
    labels = plot["labels"]
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, col), count in np.ndenumerate(matrix):
        ax.text(col, row, str(count), ha="center", va="center", fontsize=8,
                color="white" if count > threshold else "black")


DRAW: dict[str, Callable[[Axes, dict[str, Any]], None]] = {
    "regression": _regression, "history": _history, "confusion": _confusion,
}


def _misclassified(plot: dict[str, Any]) -> str:
    images = [np.asarray(image) for image in plot["images"]]
    figure, axes = plt.subplots(1, len(images), figsize=(1.3 * len(images), 1.9), squeeze=False)
    for ax, image, true, predicted in zip(axes[0], images, plot["true"], plot["predicted"],
                                          strict=False):
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
        ax.set_title(f"true: {true}\nyours: {predicted}", fontsize=7)
        ax.axis("off")
    return _png(figure)


def render_plot(plot: dict[str, Any]) -> str | None:
    """A PNG data URI for one plot, or None for a kind this version does not draw."""
    if plot.get("kind") == "misclassified":
        return _misclassified(plot) if plot.get("images") else None
    draw = DRAW.get(str(plot.get("kind")))
    if draw is None:
        return None
    size = (5.5, 5.0) if plot["kind"] == "confusion" else (6.0, 3.6)
    figure, ax = plt.subplots(figsize=size)
    draw(ax, plot)
    return _png(figure)
