"""Plain data that may cross the sandbox boundary in either direction.

Values are JSON plus NumPy arrays stored in an ``.npz`` archive. Nothing here can execute
code when decoding, which is why the judge may read what the student's process wrote.

Decoding is total and bounded: every way a hostile writer can make the bytes wrong raises
:class:`PlainDataError` (never another exception), and each bound is checked *before* the
work it protects — the JSON's size before it is read, its nesting depth before
``json.loads``, an integer's digits before ``int()``, and each array's declared shape and
dtype (from the ``.npy`` header) against an :class:`ArrayBudget` before anything is
allocated. Runs inside the sandbox too: NumPy and the standard library only.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

MAX_DEPTH = 32
MAX_STRING = 10_000
MAX_ITEMS = 10_000
MAX_INT_DIGITS = 1_000  # far below CPython's 4,300-digit int() limit, and cheap to parse
MAX_JSON_BYTES = 8 * 1024 * 1024  # arrays live in the npz; the JSON holds structure only
MAX_ARRAYS = 10_000
MAX_NPY_HEADER = 4_096
# Array kinds that are plain numbers or text; object ('O') and structured ('V') arrays are not.
PLAIN_KINDS = frozenset("biufcUSMm")
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_MARKERS = ("__int__", "__float__", "__array__", "__tuple__", "__dict__")
_ARRAY_KEY = re.compile(r"^a[0-9]{1,6}$")
_DECIMAL = re.compile(r"-?[0-9]{1,%d}" % MAX_INT_DIGITS)  # noqa: UP031


class PlainDataError(ValueError):
    """Raised when data cannot be encoded or is not acceptable plain data; the message
    names what was wrong in a few words."""


class ArrayBudget:
    """Bytes of array data one reader may still allocate; shared by all the records one
    grade reads, so many modest arrays cannot add up to an exhausted judge."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0

    def take(self, nbytes: int, what: str) -> None:
        if nbytes < 0 or self.used + nbytes > self.max_bytes:
            raise PlainDataError(f"{what} declares {nbytes:,} bytes of arrays, over the "
                                 f"{self.max_bytes:,} bytes the grader reads")
        self.used += nbytes


# -- encoding (sandbox side, and the judge writing the plan) -------------------------------

def _encode(value: Any, arrays: dict[str, np.ndarray], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise PlainDataError("value is nested too deeply")
    if value is None or isinstance(value, bool | str):
        return value if not isinstance(value, str) else value[:MAX_STRING]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        text = str(int(value))
        if len(text.lstrip("-")) > MAX_INT_DIGITS:
            raise PlainDataError(f"an integer has more than {MAX_INT_DIGITS} digits")
        return {"__int__": text}
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else {"__float__": repr(f)}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in PLAIN_KINDS:
            raise PlainDataError("arrays of Python objects are not plain data")
        if len(arrays) >= MAX_ARRAYS:
            raise PlainDataError(f"more than {MAX_ARRAYS} arrays")
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
        return {"__dict__": {k[:MAX_STRING]: _encode(v, arrays, depth + 1) for k, v in items}}
    raise PlainDataError(f"a value of type {type(value).__name__} is not plain data")


def dump(value: Any, json_path: Path, npz_path: Path) -> None:
    """Write ``value`` as JSON with its arrays in ``npz_path``."""
    arrays: dict[str, np.ndarray] = {}
    encoded = _encode(value, arrays, 0)
    text = json.dumps(encoded, allow_nan=False)
    if len(text) > MAX_JSON_BYTES:
        raise PlainDataError(f"the value's structure is over {MAX_JSON_BYTES // 2**20} MiB "
                             "of JSON (return arrays rather than long lists)")
    with open(npz_path, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]
    json_path.write_text(text, encoding="utf-8")


# -- decoding (judge side): total and bounded ----------------------------------------------

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def json_depth(data: bytes) -> int:
    """How deeply ``data``'s arrays and objects nest, found without parsing it (brackets
    inside strings do not count). Linear time, constant Python-level work."""
    stripped = _STRINGS.sub(b'""', data)
    codes = np.frombuffer(stripped, dtype=np.uint8)
    steps = (np.isin(codes, (0x5B, 0x7B)).astype(np.int32)
             - np.isin(codes, (0x5D, 0x7D)).astype(np.int32))
    return int(np.cumsum(steps).max(initial=0))


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise PlainDataError(f"an integer has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > 400:
        raise PlainDataError("a number is written with more than 400 characters")
    return float(text)


def _no_constant(name: str) -> Any:
    raise PlainDataError(f"bare {name} is not plain data")


def parse_json(data: bytes, *, max_bytes: int = MAX_JSON_BYTES,
               max_depth: int = MAX_DEPTH + 2) -> Any:
    """``json.loads`` behind the size, depth and integer-size checks."""
    if len(data) > max_bytes:
        raise PlainDataError(f"a record of {len(data):,} bytes is over the {max_bytes:,} "
                             "bytes allowed")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlainDataError("a record is not UTF-8 text") from exc
    if json_depth(data) > max_depth:
        raise PlainDataError(f"a record nests deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_int=_bounded_int, parse_float=_bounded_float,
                          parse_constant=_no_constant)
    except PlainDataError:
        raise
    except (ValueError, RecursionError) as exc:
        raise PlainDataError(f"a record is not valid JSON ({str(exc)[:100]})") from exc


def _marker(value: dict[str, Any]) -> tuple[str, Any]:
    if len(value) != 1:
        raise PlainDataError("an encoded value has stray keys")
    ((key, inner),) = value.items()
    if key not in _MARKERS:
        raise PlainDataError(f"unknown encoded value {key[:40]!r}")
    return key, inner


def _decode(value: Any, arrays: dict[str, np.ndarray], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise PlainDataError("value is nested too deeply")
    if value is None or isinstance(value, bool | str | int | float):
        return value
    if isinstance(value, list):
        if len(value) > MAX_ITEMS:
            raise PlainDataError(f"a list has more than {MAX_ITEMS} items")
        return [_decode(v, arrays, depth + 1) for v in value]
    if not isinstance(value, dict):
        raise PlainDataError("an encoded value has an unknown type")
    key, inner = _marker(value)
    if key == "__int__":
        if not isinstance(inner, str) or not _DECIMAL.fullmatch(inner):
            raise PlainDataError("an encoded integer is not a short decimal string")
        return int(inner)
    if key == "__float__":
        if not isinstance(inner, str) or inner not in _NON_FINITE:
            raise PlainDataError("an encoded float is not nan, inf or -inf")
        return _NON_FINITE[inner]
    if key == "__array__":
        if not isinstance(inner, str) or inner not in arrays:
            raise PlainDataError("an array reference names no array in the archive")
        return arrays[inner]
    if key == "__tuple__":
        if not isinstance(inner, list) or len(inner) > MAX_ITEMS:
            raise PlainDataError("an encoded tuple is not a list of at most "
                                 f"{MAX_ITEMS} items")
        return tuple(_decode(v, arrays, depth + 1) for v in inner)
    if not isinstance(inner, dict) or len(inner) > MAX_ITEMS:
        raise PlainDataError(f"an encoded dict is not an object of at most {MAX_ITEMS} keys")
    return {k: _decode(v, arrays, depth + 1) for k, v in inner.items()}


def open_regular(path: Path, max_bytes: int) -> IO[bytes]:
    """``path`` opened for reading if it is a plain file (not a link, FIFO or device) of at
    most ``max_bytes``; checked on the open descriptor, before anything is read."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise PlainDataError(f"{path.name} is missing") from None
    except OSError as exc:
        raise PlainDataError(f"{path.name} cannot be opened ({exc.strerror})") from exc
    handle = os.fdopen(descriptor, "rb")
    info = os.fstat(handle.fileno())
    if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
        handle.close()
        if not stat.S_ISREG(info.st_mode):
            raise PlainDataError(f"{path.name} is not a regular file")
        raise PlainDataError(f"{path.name} is {info.st_size:,} bytes, over the "
                             f"{max_bytes:,} allowed")
    return handle


def read_regular(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path``, under the checks of :func:`open_regular`."""
    with open_regular(path, max_bytes) as handle:
        size = os.fstat(handle.fileno()).st_size
        # read(n) allocates n bytes up front: ask for what the file holds, not the bound.
        data = handle.read(size + 1)
    if len(data) > size:
        raise PlainDataError(f"{path.name} grew while it was read")
    return data


def _read_npy(member: IO[bytes], size: int, name: str, budget: ArrayBudget) -> np.ndarray:
    """One ``.npy`` member: header parsed and checked, then exactly the declared bytes read."""
    try:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                member, max_header_size=MAX_NPY_HEADER)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(
                member, max_header_size=MAX_NPY_HEADER)
        else:
            raise PlainDataError(f"array {name} has an unknown format version")
    except PlainDataError:
        raise
    except Exception as exc:  # NumPy's header checks raise ValueError and others
        raise PlainDataError(f"array {name} has an unreadable header") from exc
    if dtype.hasobject or dtype.kind not in PLAIN_KINDS or dtype.fields is not None:
        raise PlainDataError(f"array {name} holds {dtype} values, not plain numbers or text")
    if not all(isinstance(d, int) and d >= 0 for d in shape) or len(shape) > 32:
        raise PlainDataError(f"array {name} declares an impossible shape")
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    budget.take(nbytes, f"array {name} ({'×'.join(map(str, shape)) or 'scalar'} {dtype})")
    header_end = member.tell()
    if nbytes > size - header_end:
        raise PlainDataError(f"array {name} declares more data than it holds")
    buffer = bytearray(nbytes)
    if member.readinto(buffer) != nbytes:  # type: ignore[attr-defined]
        raise PlainDataError(f"array {name} is cut short")
    array = np.frombuffer(buffer, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C")


def _read_arrays(npz_path: Path, *, max_bytes: int, budget: ArrayBudget) -> dict[str, np.ndarray]:
    with open_regular(npz_path, max_bytes) as handle:
        return _arrays_in(handle, npz_path.name, budget)


def _entry_count(handle: IO[bytes], name: str) -> int:
    """The archive's entry count from its end record, read before ``zipfile`` builds an
    object per entry (a small file can list millions). np.savez writes no comment and no
    zip64 record for what we accept, so the record is the file's last 22 bytes."""
    try:
        handle.seek(-22, os.SEEK_END)
    except OSError as exc:
        raise PlainDataError(f"{name} is not a plain array archive") from exc
    end = handle.read(22)
    if len(end) != 22 or end[:4] != b"PK\x05\x06":
        raise PlainDataError(f"{name} is not a plain array archive")
    handle.seek(0)
    return int.from_bytes(end[10:12], "little")


def _arrays_in(handle: IO[bytes], name: str, budget: ArrayBudget) -> dict[str, np.ndarray]:
    if _entry_count(handle, name) > MAX_ARRAYS:
        raise PlainDataError(f"{name} holds more than {MAX_ARRAYS} arrays")
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise PlainDataError(f"{name} is not a plain array archive") from exc
    arrays: dict[str, np.ndarray] = {}
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ARRAYS:
            raise PlainDataError(f"{name} holds more than {MAX_ARRAYS} arrays")
        for info in infos:
            key = info.filename.removesuffix(".npy")
            if not info.filename.endswith(".npy") or not _ARRAY_KEY.match(key) \
                    or key in arrays:
                raise PlainDataError(f"{name} holds an unexpected entry")
            if info.compress_type != zipfile.ZIP_STORED:
                # np.savez stores; a compressed entry could expand far beyond the file.
                raise PlainDataError(f"{name} holds a compressed entry")
            try:
                with archive.open(info) as member:
                    arrays[key] = _read_npy(member, info.file_size, key, budget)
            except PlainDataError:
                raise
            except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
                raise PlainDataError(f"{name} is not a plain array archive") from exc
    return arrays


def load(json_path: Path, npz_path: Path, *, max_bytes: int,
         budget: ArrayBudget | None = None) -> Any:
    """Read what :func:`dump` wrote, refusing oversized, pickled or malformed data.

    ``max_bytes`` bounds each file; ``budget`` (default: ``max_bytes``) bounds the arrays'
    declared sizes. Raises only :class:`PlainDataError`.
    """
    budget = budget or ArrayBudget(max_bytes)
    try:
        encoded = parse_json(read_regular(json_path, min(max_bytes, MAX_JSON_BYTES)))
        arrays = _read_arrays(npz_path, max_bytes=max_bytes, budget=budget)
        return _decode(encoded, arrays, 0)
    except PlainDataError:
        raise
    except (MemoryError, RecursionError, ValueError, TypeError, OverflowError) as exc:
        # Defence in depth: the checks above should leave none of these.
        raise PlainDataError(f"unreadable data ({type(exc).__name__})") from exc
