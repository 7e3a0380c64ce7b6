"""Plain data that may cross the sandbox boundary in either direction.

Values are JSON plus NumPy arrays stored in an ``.npz`` archive that is always
read with ``allow_pickle=False``. Nothing here can execute code when decoding,
which is why the judge may read what the student's process wrote.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

MAX_DEPTH = 32
MAX_STRING = 10_000
MAX_ITEMS = 10_000


class PlainDataError(ValueError):
    """Raised when data cannot be encoded or is not acceptable plain data."""


def _encode(value: Any, arrays: dict[str, np.ndarray], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise PlainDataError("value is nested too deeply")
    if value is None or isinstance(value, bool | str):
        return value if not isinstance(value, str) else value[:MAX_STRING]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return {"__int__": str(int(value))}
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else {"__float__": repr(f)}
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise PlainDataError("arrays of Python objects are not plain data")
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays, depth + 1) for v in value[:MAX_ITEMS]]}
    if isinstance(value, list):
        return [_encode(v, arrays, depth + 1) for v in value[:MAX_ITEMS]]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise PlainDataError("only dicts with string keys are plain data")
        items = list(value.items())[:MAX_ITEMS]
        return {"__dict__": {k: _encode(v, arrays, depth + 1) for k, v in items}}
    raise PlainDataError(f"a value of type {type(value).__name__} is not plain data")


def _decode(value: Any, arrays: dict[str, np.ndarray], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise PlainDataError("value is nested too deeply")
    if isinstance(value, list):
        return [_decode(v, arrays, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    if "__int__" in value:
        return int(value["__int__"])
    if "__float__" in value:
        return float(value["__float__"])
    if "__array__" in value:
        key = value["__array__"]
        if key not in arrays:
            raise PlainDataError(f"missing array {key!r}")
        return arrays[key]
    if "__tuple__" in value:
        return tuple(_decode(v, arrays, depth + 1) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode(v, arrays, depth + 1) for k, v in value["__dict__"].items()}
    raise PlainDataError("unknown encoded value")


def dump(value: Any, json_path: Path, npz_path: Path) -> None:
    """Write ``value`` as JSON with its arrays in ``npz_path``."""
    arrays: dict[str, np.ndarray] = {}
    encoded = _encode(value, arrays, 0)
    with open(npz_path, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]
    json_path.write_text(json.dumps(encoded), encoding="utf-8")


def load(json_path: Path, npz_path: Path, *, max_bytes: int) -> Any:
    """Read what :func:`dump` wrote, refusing oversized, pickled or malformed data."""
    for path in (json_path, npz_path):
        if not path.is_file() or path.is_symlink():
            raise PlainDataError(f"{path.name} is missing")
        if path.stat().st_size > max_bytes:
            raise PlainDataError(f"{path.name} is larger than {max_bytes} bytes")
    try:
        encoded = json.loads(json_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise PlainDataError(f"{json_path.name} is not valid JSON: {exc}") from exc
    try:
        with np.load(npz_path, allow_pickle=False) as archive:
            total = sum(info.file_size for info in archive.zip.infolist())
            if total > max_bytes * 4:
                raise PlainDataError(f"{npz_path.name} expands beyond the size limit")
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise PlainDataError(f"{npz_path.name} is not a plain array archive: {exc}") from exc
    return _decode(encoded, arrays, 0)
