"""Reading and writing gzip IDX files, the format of (Fashion-)MNIST's original release."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

_UBYTE = 0x08


def read_idx(path: Path) -> np.ndarray:
    """The uint8 array stored in a gzip IDX file (labels: 1-D, images: n×rows×cols)."""
    with gzip.open(path, "rb") as stream:
        data = stream.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != _UBYTE:
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    shape = struct.unpack(f">{ndim}I", data[4: 4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape).copy()


def write_idx(array: np.ndarray, path: Path) -> None:
    """Write ``array`` (uint8) so that Keras's loaders read it back unchanged.
    ``mtime=0`` keeps the file's bytes repeatable."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, _UBYTE, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                        compresslevel=6) as stream:
        stream.write(header + array.tobytes())
