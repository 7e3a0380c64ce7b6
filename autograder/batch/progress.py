"""Progress: a rich bar on a terminal, one plain line per submission otherwise (logs, CI)."""

from __future__ import annotations

import sys
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class BatchProgress(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, line: str) -> None: ...
    def note(self, line: str) -> None: ...
    def close(self) -> None: ...


class PlainProgress:
    def __init__(self, stream: TextIO) -> None:
        self.stream, self.total, self.done = stream, 0, 0

    def start(self, total: int) -> None:
        self.total = total

    def advance(self, line: str) -> None:
        self.done += 1
        self.note(f"[{self.done}/{self.total}] {line}")

    def note(self, line: str) -> None:
        self.stream.write(f"grade-batch: {line}\n")
        self.stream.flush()

    def close(self) -> None:
        pass


class RichProgress:
    def __init__(self, stream: TextIO) -> None:
        self.console = Console(file=stream)
        self.bar = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                            console=self.console, transient=False)
        self.task = self.bar.add_task("grading", total=0)

    def start(self, total: int) -> None:
        self.bar.update(self.task, total=total)
        self.bar.start()

    def advance(self, line: str) -> None:
        self.bar.console.print(line, markup=False, highlight=False)
        self.bar.advance(self.task)

    def note(self, line: str) -> None:
        self.bar.console.print(line, markup=False, highlight=False)

    def close(self) -> None:
        self.bar.stop()


def make_progress(stream: TextIO | None = None) -> BatchProgress:
    stream = stream or sys.stderr
    return RichProgress(stream) if stream.isatty() else PlainProgress(stream)
