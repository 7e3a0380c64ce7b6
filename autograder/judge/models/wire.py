"""Framed messages between the judge and a model child: a JSON header and, optionally,
NumPy arrays as an ``.npz`` payload (read with ``allow_pickle=False``). Each side states
the largest frame it accepts, and the length is checked before anything is allocated."""

from __future__ import annotations

import io
import json
import socket
import struct
from typing import Any

import numpy as np

_LENGTHS = struct.Struct(">QQ")
MAX_HEADER_BYTES = 1024 * 1024


class WireError(Exception):
    """The other side closed the connection or sent something malformed."""


def send(sock: socket.socket, header: dict[str, Any],
         arrays: dict[str, np.ndarray] | None = None) -> None:
    head = json.dumps(header).encode()
    payload = b""
    if arrays:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
        payload = buffer.getvalue()
    sock.sendall(_LENGTHS.pack(len(head), len(payload)) + head + payload)


def _exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            raise WireError("connection closed")
        chunks += chunk
    return bytes(chunks)


def receive(sock: socket.socket, max_bytes: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    head_size, payload_size = _LENGTHS.unpack(_exactly(sock, _LENGTHS.size))
    if head_size > MAX_HEADER_BYTES or payload_size > max_bytes:
        raise WireError(f"a message of {head_size + payload_size:,} bytes is over the limit")
    try:
        header = json.loads(_exactly(sock, head_size))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise WireError(f"unreadable header: {exc}") from exc
    if not isinstance(header, dict):
        raise WireError("the header is not an object")
    arrays: dict[str, np.ndarray] = {}
    if payload_size:
        payload = _exactly(sock, payload_size)
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except (ValueError, OSError, EOFError) as exc:
            raise WireError(f"unreadable arrays: {exc}") from exc
    return header, arrays
