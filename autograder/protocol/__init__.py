"""The sandbox → judge protocol: every record the sandbox hands back, typed and versioned.

One frozen dataclass per record kind, each owning its sandbox-side writer, its strict
judge-side decoder and the words a student sees about it:

* :class:`~autograder.protocol.call.CallRecord` — ``probe/<n>.json`` + ``.npz``: the outcome
  of one planned call or action (see :mod:`autograder.protocol.actions` for the kinds and
  the shape of each kind's value);
* :class:`~autograder.protocol.done.DoneRecord` — ``probe/done.json``: the probe finished;
* :class:`~autograder.protocol.execution.ExecutionRecord` — ``execution.json``: how running
  the notebook went.

Everything here is imported inside the student's kernel too: NumPy and the standard
library only. Decoders are total: any malformed record raises
:class:`~autograder.plaindata.PlainDataError`, which the judge turns into an outcome.
"""

from autograder.protocol.status import CallStatus, ExecutionStatus
from autograder.protocol.version import PROTOCOL_VERSION

__all__ = ["PROTOCOL_VERSION", "CallStatus", "ExecutionStatus"]
