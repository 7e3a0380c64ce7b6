"""``python -m autograder.runner.zygote_request --pids N --timeout-s S``: ask the zygote for
one grade, as root in a warm sandbox (the host runs it with ``docker exec``).

The client hands the zygote its output streams (so the grade's output reaches the host as
this exec's output), waits until the grade is over and every process of it is gone, and
prints the grade leader's report on one line after the nonce the host passed in
``AUTOGRADER_REPORT_NONCE``: student processes write to the same stream, but they have all
been killed by then and never saw the nonce (it is in root's environment only).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time

SOCKET_PATH = "/run/autograder/zygote.sock"
NONCE_ENV = "AUTOGRADER_REPORT_NONCE"
CONNECT_PATIENCE_S = 300.0  # the zygote's imports, on a busy machine


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.runner.zygote_request")
    parser.add_argument("--pids", type=int, required=True)
    parser.add_argument("--timeout-s", type=float, required=True)
    args = parser.parse_args(argv)
    nonce = os.environ.pop(NONCE_ENV, "")
    report = _ask({"pids": args.pids, "timeout_s": args.timeout_s})
    sys.stdout.write(f"\n{nonce} {json.dumps(report)}\n")
    sys.stdout.flush()


def _ask(request: dict[str, object]) -> dict[str, object]:
    deadline = time.monotonic() + CONNECT_PATIENCE_S
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    while True:
        try:
            client.connect(SOCKET_PATH)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                return {"healthy": False, "problems": ["the zygote never started"]}
            time.sleep(0.05)
    socket.send_fds(client, [json.dumps(request).encode()], [0, 1, 2])
    chunks = []
    while chunk := client.recv(65536):
        chunks.append(chunk)
    try:
        report = json.loads(b"".join(chunks))
    except ValueError:
        return {"healthy": False, "problems": ["the grade leader ended without a report"]}
    return report if isinstance(report, dict) else {"healthy": False, "problems": ["bad report"]}


if __name__ == "__main__":
    main()
