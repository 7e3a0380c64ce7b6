"""The protocol's version, written into every record and checked when it is read.

Bump it when a record's fields change meaning; a judge refuses records of another version
(a sandbox image older than the judge says so, rather than being misread).
"""

from __future__ import annotations

from typing import Any

from autograder.plaindata import PlainDataError

PROTOCOL_VERSION = 1
VERSION_KEY = "protocol"


def check_version(record: dict[str, Any], what: str) -> None:
    version = record.get(VERSION_KEY)
    if type(version) is not int or version != PROTOCOL_VERSION:
        raise PlainDataError(f"{what} is not protocol version {PROTOCOL_VERSION}")
