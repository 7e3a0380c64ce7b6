"""Reading what the probe's file actions sent back (see autograder.runner.probe_actions).

``Plan.action("model", "file", "model.keras", "model.h5")`` in a grader's plan copies the
student's file to ``<out>/artifacts/model/``; :func:`artifact_path` finds it there and
:func:`load_student_model` loads it safely. ``Plan.action("scaler", "joblib-attributes",
"scaler.joblib", [...])`` returns a fitted object's numbers; :func:`fitted_attributes`
checks them. Every failure is a :class:`Fail` worded for the student.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autograder.judge.context import JudgeContext
from autograder.judge.framework import Fail
from autograder.judge.models.loading import LoadedModel, load_for_grade
from autograder.plaindata import PlainDataError
from autograder.protocol.actions import ActionKind, FileValue, FittedValue
from autograder.protocol.status import CallStatus


def _file_names(ctx: JudgeContext, call_id: str) -> str:
    call = ctx.planned(call_id)
    # ``file`` takes alternative names; ``joblib-attributes`` takes (name, attributes).
    names = call.args if call.kind == ActionKind.FILE else call.args[:1]
    return " or ".join(f"`{n}`" for n in names if isinstance(n, str)) or "The file"


def _outcome_value(ctx: JudgeContext, call_id: str) -> Any:
    outcome = ctx.outcome(call_id)
    names = _file_names(ctx, call_id)
    if outcome.status is CallStatus.OK:
        return outcome.value
    if outcome.status is CallStatus.MISSING:
        raise Fail(f"{names} was not found when the notebook finished. Save it next to the "
                   "notebook (and hand it in with the notebook)."
                   + ctx.execution.unfinished_note())
    if outcome.status is CallStatus.RAISED:
        raise Fail(f"{names} could not be read: {outcome.error}")
    if outcome.status is CallStatus.UNREADABLE:
        raise Fail(f"{names} could not be checked: {outcome.error}.")
    reason = ctx.execution.summary() or outcome.error or "the probe did not reach this check"
    raise Fail(f"{names} could not be checked: {reason}")


def artifact_path(ctx: JudgeContext, call_id: str) -> Path:
    """The judge-side copy of the file the ``file`` action ``call_id`` brought back."""
    try:
        name = FileValue.decode(_outcome_value(ctx, call_id)).name
    except PlainDataError as exc:
        raise Fail(f"The notebook left unreadable grading data ({exc}).") from exc
    if ctx.artifacts is None:
        raise Fail("The grader received no files from the sandbox.")
    path = ctx.artifacts / call_id / name
    if path.is_symlink() or not path.is_file():
        raise Fail(f"`{name}` was reported but did not arrive at the grader.")
    return path


def load_student_model(ctx: JudgeContext, call_id: str) -> LoadedModel:
    """The model file from ``call_id``, checked, then loaded in a limited child process
    once per grade (see autograder/judge/models)."""
    return load_for_grade(ctx, artifact_path(ctx, call_id))


@dataclass(frozen=True)
class FittedObject:
    """A fitted object's class (as the sandbox named it) and the attributes asked for."""

    class_name: str
    attributes: dict[str, Any]

    def array(self, name: str, size: int | None = None) -> np.ndarray:
        """Attribute ``name`` as a finite float vector (of ``size`` values when given)."""
        if name not in self.attributes:
            raise Fail(f"The fitted object has no `{name}`; was it fitted (`.fit(X)`)?")
        try:
            values = np.asarray(self.attributes[name], dtype=float).reshape(-1)
        except (TypeError, ValueError, OverflowError) as exc:
            raise Fail(f"`{name}` of the fitted object is not numeric.") from exc
        if size is not None and values.size != size:
            raise Fail(f"`{name}` has {values.size} values; expected {size} (one per input "
                       "column).")
        if not np.all(np.isfinite(values)):
            raise Fail(f"`{name}` contains NaN or infinite values.")
        return values


def fitted_attributes(ctx: JudgeContext, call_id: str) -> FittedObject:
    try:
        fitted = FittedValue.decode(_outcome_value(ctx, call_id))
    except PlainDataError as exc:
        raise Fail(f"The notebook left unreadable grading data ({exc}).") from exc
    return FittedObject(class_name=fitted.class_name, attributes=fitted.attributes)


def minmax_transform(scaler: FittedObject, x: np.ndarray) -> np.ndarray:
    """What a fitted MinMaxScaler's ``transform`` gives for ``x``: ``x * scale_ + min_``,
    computed here from its plain numbers."""
    columns = x.shape[1]
    return np.asarray(x, dtype=float) * scaler.array("scale_", columns) + scaler.array(
        "min_", columns)
