"""Probe actions for files and fitted objects, run inside the sandbox after the notebook.

Each action takes the student's namespace and a planned call (``spec``) and returns an
outcome dict like the built-in ``call`` and ``variable`` actions. The probe adds
``spec["out_dir"]`` so an action can put copied files where the judge will find them.

* ``file`` — ``Plan.action(id, "file", "model.keras", "model.h5", max_bytes=...)``:
  copies the first of the named files that exists (relative to the kernel's working
  directory, the notebook's folder) to ``<out>/artifacts/<id>/<name>``; the value is
  ``{"name", "size", "mtime"}``. Absolute paths, ``..``, links, non-regular files and files
  over ``max_bytes`` are refused.
* ``joblib-attributes`` — ``Plan.action(id, "joblib-attributes", "scaler.joblib",
  ["data_min_", "data_max_"])``: loads the file with joblib *here*, in the student's own
  kernel, and returns ``{"class": "module.Class", "attributes": {...}, "missing": [...]}``
  with only the named attributes as numbers and arrays. The judge never unpickles.
* ``attributes`` — the same for an object held in a notebook variable:
  ``Plan.action(id, "attributes", "scaler", ["data_min_"])``.
* ``history`` — ``Plan.action(id, "history", "history")``: a Keras ``History`` (or its
  ``.history`` dict) held in a variable, as ``{metric: float array per epoch}``.

Everything here runs in a process the student controls, so it only gathers data; the
judge checks whatever comes back as untrusted.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from autograder.protocol.actions import ActionKind

DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ATTRIBUTE_BYTES = 16 * 1024 * 1024
MAX_HISTORY_EPOCHS = 100_000
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class FileRefusedError(ValueError):
    """The named file may not be handed to the judge; the message says why."""


def _relative(name: Any) -> PurePosixPath:
    if not isinstance(name, str) or not name or "\x00" in name:
        raise FileRefusedError(f"{name!r} is not a file name")
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise FileRefusedError(f"{name!r} must be a path inside the notebook's folder "
                               "(no absolute paths, no '..')")
    return path


def _locate(names: tuple[Any, ...]) -> Path | None:
    """The first of ``names`` that exists below the working directory, checked for links.

    Raises :class:`FileRefusedError` for an unsafe name or a file that is not a plain
    regular file; returns ``None`` when none of the names exists.
    """
    root = Path.cwd()
    for name in names:
        relative = _relative(name)
        candidate = root
        for part in relative.parts:
            candidate = candidate / part
            if candidate.is_symlink():
                raise FileRefusedError(f"{name!r} is (or goes through) a symbolic link")
        if not os.path.lexists(candidate):
            continue
        mode = os.lstat(candidate).st_mode
        if not stat.S_ISREG(mode):
            raise FileRefusedError(f"{name!r} is not a regular file")
        return candidate
    return None


def _read_capped(path: Path, max_bytes: int) -> bytes:
    # O_NOFOLLOW: a link swapped in after the checks above is still refused.
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise FileRefusedError(f"{path.name!r} is not a regular file")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileRefusedError(f"{path.name!r} is larger than {max_bytes // 2**20} MiB")
    return data


def _missing(names: tuple[Any, ...]) -> dict[str, Any]:
    listed = " or ".join(f"`{n}`" for n in names) or "the file"
    return {"status": "missing", "error": f"{listed} was not found next to the notebook"}


def copy_file(namespace: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    names = tuple(spec["args"])
    max_bytes = int(spec["kwargs"].get("max_bytes", DEFAULT_MAX_FILE_BYTES))
    call_id = str(spec["id"])
    if not _SAFE_ID.match(call_id) or call_id in (".", ".."):
        return {"status": "raised", "error": f"unusable probe call id {call_id!r}"}
    try:
        source = _locate(names)
        if source is None:
            return _missing(names)
        data = _read_capped(source, max_bytes)
    except FileRefusedError as exc:
        return {"status": "raised", "error": str(exc)}
    target_dir = Path(spec["out_dir"]) / "artifacts" / call_id
    if target_dir.exists():
        shutil.rmtree(target_dir)
    target_dir.mkdir(parents=True)
    (target_dir / source.name).write_bytes(data)
    return {"status": "ok", "value": {"name": source.name, "size": len(data),
                                      "mtime": float(os.lstat(source).st_mtime)}}


def _plain_attribute(value: Any) -> Any:
    """Numbers, strings and numeric arrays (tuples and lists of them) pass; nothing else."""
    if value is None or isinstance(value, bool | int | float | str | np.generic):
        return value
    if isinstance(value, tuple | list) and len(value) <= 10_000:
        return type(value)(_plain_attribute(v) for v in value)
    array = np.asarray(value)
    if array.dtype.kind not in "biuf" or array.nbytes > MAX_ATTRIBUTE_BYTES:
        raise TypeError(f"a {type(value).__name__} is not a numeric array")
    return np.array(array, copy=True)


def _attributes_of(obj: Any, names: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    missing: list[str] = []
    problems: dict[str, str] = {}
    for name in names:
        name = str(name)
        if not hasattr(obj, name):
            missing.append(name)
            continue
        try:
            found[name] = _plain_attribute(getattr(obj, name))
        except Exception as exc:
            problems[name] = f"{type(exc).__name__}: {exc}"[:300]
    kind = type(obj)
    return {"status": "ok", "value": {"class": f"{kind.__module__}.{kind.__qualname__}",
                                      "attributes": found, "missing": missing,
                                      "unreadable": problems}}


def joblib_attributes(namespace: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    path_name, names = spec["args"][0], list(spec["args"][1])
    max_bytes = int(spec["kwargs"].get("max_bytes", DEFAULT_MAX_FILE_BYTES))
    try:
        source = _locate((path_name,))
        if source is None:
            return _missing((path_name,))
        if source.stat().st_size > max_bytes:
            raise FileRefusedError(f"{path_name!r} is larger than {max_bytes // 2**20} MiB")
    except FileRefusedError as exc:
        return {"status": "raised", "error": str(exc)}
    import joblib  # only here, inside the sandbox: loading a pickle runs its code

    return _attributes_of(joblib.load(source), names)


def variable_attributes(namespace: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    variable, names = str(spec["args"][0]), list(spec["args"][1])
    if variable not in namespace:
        return {"status": "missing", "error": f"`{variable}` is not defined"}
    return _attributes_of(namespace[variable], names)


def training_history(namespace: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    variable = str(spec["args"][0])
    if variable not in namespace:
        return {"status": "missing", "error": f"`{variable}` is not defined"}
    held = namespace[variable]
    record = getattr(held, "history", held)
    if not isinstance(record, dict):
        return {"status": "raised", "error": f"`{variable}` is not what model.fit returns "
                                             f"(it is a {type(held).__name__})"}
    curves: dict[str, Any] = {}
    for key, values in list(record.items())[:50]:
        series = np.asarray(list(values)[:MAX_HISTORY_EPOCHS], dtype=float)
        curves[str(key)] = series.reshape(-1) if series.ndim else series.reshape(1)
    return {"status": "ok", "value": curves}


ACTIONS: dict[str, Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]] = {
    ActionKind.FILE: copy_file,
    ActionKind.JOBLIB_ATTRIBUTES: joblib_attributes,
    ActionKind.ATTRIBUTES: variable_attributes,
    ActionKind.HISTORY: training_history,
}
