"""``probe/done.json``: the probe went through the whole plan."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder import plaindata
from autograder.protocol import bounds
from autograder.protocol.version import PROTOCOL_VERSION, VERSION_KEY, check_version

MAX_DONE_BYTES = 4096


@dataclass(frozen=True)
class DoneRecord:
    calls: int

    @staticmethod
    def path(probe_dir: Path) -> Path:
        return probe_dir / "done.json"

    def write(self, probe_dir: Path) -> None:
        probe_dir.mkdir(parents=True, exist_ok=True)
        self.path(probe_dir).write_text(json.dumps({"calls": self.calls,
                                                    VERSION_KEY: PROTOCOL_VERSION}))

    @classmethod
    def decode(cls, data: Any) -> DoneRecord:
        record = bounds.record(data, "the probe's done marker")
        check_version(record, "the probe's done marker")
        return cls(calls=bounds.small_int(record.get("calls"), "the number of calls"))

    @classmethod
    def read(cls, probe_dir: Path) -> DoneRecord | None:
        """The marker, or None when it is missing or malformed (the probe did not finish)."""
        try:
            raw = plaindata.read_regular(cls.path(probe_dir), MAX_DONE_BYTES)
            return cls.decode(plaindata.parse_json(raw, max_bytes=MAX_DONE_BYTES))
        except plaindata.PlainDataError:
            return None
