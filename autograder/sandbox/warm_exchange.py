"""What crosses one warm grade's ``docker exec`` (autograder.runner.zygote_request): the job
written to its stdin, and its output read back — the grade's log, the leader's report after
a nonce line, then the results as a tar. A grade on the zygote's socket (warm.py
``_direct``) sends the same job message and reads the same report and results, its log
coming apart on a pipe.

Everything before the report is the student's output (kept as a bounded tail); the report
and the tar come from root in the container after every student process is gone, yet the
tar still holds files the student wrote, so it is read with a bound and unpacked by the
cold sandbox's strict reader (sandbox/readback.py).
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

from autograder.sandbox.docker import _Tail
from autograder.sandbox.readback import MAX_FILES

STDOUT = 1
MAX_REPORT_BYTES = 1 << 16


def job_message(job_dir: Path, workdir: Path) -> bytes:
    """The exec's stdin: the archive's size on a line, then ``job/`` and ``input/`` as a
    tar, owned by root and readable by the grade."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, folder in (("job", job_dir), ("input", workdir)):
            _add_tree(archive, name, folder)
    data = buffer.getvalue()
    return b"%d\n" % len(data) + data


def _add_tree(archive: tarfile.TarFile, name: str, folder: Path) -> None:
    for path in [folder, *sorted(folder.rglob("*"))]:
        if path.is_symlink():
            continue
        relative = path.relative_to(folder).as_posix()
        info = tarfile.TarInfo(name if relative == "." else f"{name}/{relative}")
        info.uid = info.gid = 0
        info.mtime = int(time.time())
        if path.is_dir():
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
        elif path.is_file():
            info.size, info.mode = path.stat().st_size, 0o644
            with path.open("rb") as stream:
                archive.addfile(info, stream)


class GradeOutput:
    """Sorts the exec's frames as they arrive: log tail, report, results tar."""

    def __init__(self, nonce: str, *, log_limit: int, results_limit: int) -> None:
        self._marker = f"\n{nonce} ".encode()
        self._log = _Tail(log_limit)
        self._pending = b""  # stdout not yet known to be free of the marker
        self._report_line: bytes | None = None  # from the marker on, until its newline
        self.report: dict[str, Any] = {}
        self.reported = False
        # Tar headers and padding add up to 1.5 KiB per file on top of the data.
        self._results_limit = results_limit + 1536 * MAX_FILES
        self.results: list[bytes] = []
        self.results_size = 0
        self.results_cut = False
        self._done = False  # the stream broke its form: read no more

    def feed(self, stream: int, data: bytes) -> bool:
        """Take one frame; False once there is no point reading more (the results over their
        bound, or a report line that never ends)."""
        if self._done:
            return False
        if self.reported:
            if stream == STDOUT:
                self.results_size += len(data)
                if self.results_size > self._results_limit:
                    self.results_cut = self._done = True
                    return False
                self.results.append(data)
            return True
        if stream != STDOUT:
            self._keep(data)
            return True
        if self._report_line is not None:
            self._report_line += data
        else:
            self._pending += data
            at = self._pending.find(self._marker)
            if at < 0:
                # A marker split between frames is kept whole for the next frame.
                cut = max(0, len(self._pending) - len(self._marker) + 1)
                self._keep(self._pending[:cut])
                self._pending = self._pending[cut:]
                return True
            self._keep(self._pending[:at])
            self._report_line, self._pending = self._pending[at + len(self._marker):], b""
        line, newline, rest = self._report_line.partition(b"\n")
        if not newline:
            if len(self._report_line) > MAX_REPORT_BYTES:
                self._report_line = None  # not a report: the grade will count as unhealthy
                self._done = True
                return False
            return True
        self._report_line = None
        self.reported = True
        try:
            report = json.loads(line)
        except ValueError:
            report = {}
        self.report = report if isinstance(report, dict) else {}
        return self.feed(STDOUT, rest) if rest else True

    def _keep(self, data: bytes) -> None:
        if data:
            self._log.add(data)

    def log_text(self) -> str:
        """The grade's output, once the stream has ended (what was held back waiting for a
        marker that never came is the output's end)."""
        self._keep(self._pending)
        self._pending = b""
        return self._log.text()


__all__ = ["GradeOutput", "job_message"]
