"""Runs inside the student's kernel, after the notebook: makes the planned calls and saves
their results as plain data. Nothing here decides a score; the judge does that outside.

Each call's outcome is written as soon as it is known (``<out>/probe/<n>.json`` and
``.npz``), so a call that crashes the kernel loses only itself and the calls after it.
"""

from __future__ import annotations

import contextlib
import inspect
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from autograder import plaindata
from autograder.protocol.actions import ActionKind
from autograder.protocol.call import CallRecord
from autograder.protocol.done import DoneRecord
from autograder.runner.probe_actions import ACTIONS as FILE_AND_MODEL_ACTIONS
from autograder.runner.work_count import WorkCount, counted_call

MAX_VALUE_BYTES = 64 * 1024 * 1024


class _CallTimeout(BaseException):
    """A BaseException, so that a student's ``except Exception`` cannot swallow it."""


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise _CallTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _fresh(value: Any) -> Any:
    """A deep copy of plain input data, so each call gets pristine arguments."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list | tuple):
        return type(value)(_fresh(v) for v in value)
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    try:
        return bool(a == b)
    except Exception:
        return False


def _value_size(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, list | tuple):
        return sum(_value_size(v) for v in value)
    if isinstance(value, dict):
        return sum(_value_size(v) for v in value.values())
    return 64


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text[:1000]


def _baseline_seconds(args: list[Any]) -> float | None:
    """Time one NumPy pass over the first array argument, measured next to the student's
    call so that the judge can compare the two on the same machine under the same load."""
    first = next((a for a in args if isinstance(a, np.ndarray)), None)
    if first is None:
        return None
    start = time.perf_counter()
    np.multiply(first, first)
    return time.perf_counter() - start


def _call(namespace: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    name = spec["function"]
    function = namespace.get(name)
    if function is None:
        return {"status": "missing", "error": f"`{name}` is not defined"}
    if not callable(function):
        return {"status": "signature", "error": f"`{name}` is a {type(function).__name__}, "
                                                "not a function"}
    args, kwargs = spec["args"], spec["kwargs"]
    try:
        inspect.signature(function).bind(*args, **kwargs)
    except TypeError as exc:
        return {"status": "signature", "error": str(exc)}
    except ValueError:
        pass  # builtins without a signature: just call them
    best: float | None = None
    baseline: float | None = None
    result: Any = None
    mutated: list[int] = []
    work: WorkCount | None = None
    for _ in range(max(1, int(spec.get("repeat", 1)))):
        call_args, call_kwargs = _fresh(args), _fresh(kwargs)
        if spec.get("repeat", 1) > 1:
            base = _baseline_seconds(call_args)
            if base is not None:
                baseline = base if baseline is None else min(baseline, base)
        try:
            with _deadline(float(spec.get("timeout_s", 20.0))):
                start = time.perf_counter()
                if spec.get("count_work"):
                    result, work = counted_call(function, call_args, call_kwargs)
                else:
                    result = function(*call_args, **call_kwargs)
                elapsed = time.perf_counter() - start
        except (_CallTimeout, KeyboardInterrupt):  # our timer, or nbclient's interrupt
            return {"status": "timeout", "error": "time limit reached"}
        except BaseException as exc:  # SystemExit and KeyboardInterrupt are student errors too
            return {"status": "raised", "error": _describe(exc)}
        best = elapsed if best is None else min(best, elapsed)
        mutated = [i for i, (before, after) in enumerate(zip(args, call_args, strict=True))
                   if not _same(before, after)]
    outcome: dict[str, Any] = {"status": "ok", "seconds": best, "mutated_args": mutated,
                               "baseline_seconds": baseline}
    if work is not None:
        outcome.update(work_events=work.events, work_intact=work.intact, work_note=work.why)
    if spec.get("keep_value", True):
        if _value_size(result) > MAX_VALUE_BYTES:
            return {"status": "not-plain", "error": "the returned value is too large"}
        outcome["value"] = result
    return outcome


def _variable(namespace: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    name = spec["args"][0]
    if name not in namespace:
        return {"status": "missing", "error": f"`{name}` is not defined"}
    return {"status": "ok", "value": namespace[name]}


# Built-in probe actions, selected by a planned call's ``kind`` (see
# autograder.protocol.actions for the kinds and what each one's value looks like).
ACTIONS: dict[str, Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]] = {
    ActionKind.CALL: _call,
    ActionKind.VARIABLE: _variable,
    **FILE_AND_MODEL_ACTIONS,
}


def _write(out: Path, index: int, call_id: str, outcome: dict[str, Any]) -> None:
    CallRecord.write(out / "probe", index, call_id, outcome)


def run(job_dir: str, out_dir: str, namespace: dict[str, Any], *,
        deadline: float | None = None) -> None:
    """Entry point, called from a cell appended to the student's kernel session.
    ``deadline`` (a ``time.time()`` value) is when the whole job's time runs out."""
    job, out = Path(job_dir), Path(out_dir)
    plan = plaindata.load(job / "plan.json", job / "plan.npz", max_bytes=512 * 1024 * 1024)
    stuck: set[str] = set()  # functions that already ran out of time once
    for index, spec in enumerate(plan["calls"]):
        action = ACTIONS.get(spec["kind"])
        remaining = None if deadline is None else deadline - time.time()
        if remaining is not None:
            spec["timeout_s"] = min(float(spec.get("timeout_s", 20.0)), remaining)
        if remaining is not None and remaining <= 0.05:
            outcome = {"status": "timeout", "error": "the notebook's time limit was reached"}
        elif spec["kind"] == "call" and spec["function"] in stuck:
            outcome = {"status": "timeout", "error": "an earlier call did not return in time"}
        elif action is None:
            outcome = {"status": "raised", "error": f"unknown probe action {spec['kind']!r}"}
        else:
            try:
                outcome = action(namespace, {**spec, "out_dir": str(out)})
            except BaseException as exc:
                outcome = {"status": "raised", "error": _describe(exc)}
        if outcome["status"] == "timeout":
            stuck.add(spec["function"])
        _write(out, index, spec["id"], outcome)
    DoneRecord(calls=len(plan["calls"])).write(out / "probe")
