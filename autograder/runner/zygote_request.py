"""``python -m autograder.runner.zygote_request --pids N --timeout-s S``: one grade in a warm
sandbox, as root in the container (the host runs it with ``docker exec``). The whole grade
is this one exec, so it costs the host one round trip to the engine:

1. the host writes the job on stdin: a line with the archive's size, then a tar of ``job/``
   and ``input/``, unpacked into ``/sandbox``;
2. the client hands the zygote its output streams (so the grade's output reaches the host
   as this exec's output) and waits until the grade is over and every process of it is
   gone;
3. it prints the grade leader's report on one line after the nonce the host passed in
   ``AUTOGRADER_REPORT_NONCE`` — student processes write to the same stream, but they have
   all been killed by then and never saw the nonce (it is in root's environment only);
4. if the grade was healthy, a tar of ``/sandbox/out`` follows on stdout, which the host
   unpacks with the same bounded reader as the cold sandbox's results (links and special
   files are recorded, never followed).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import sys
import tarfile
import time
from pathlib import Path
from typing import BinaryIO

SOCKET_PATH = "/run/autograder/zygote.sock"
NONCE_ENV = "AUTOGRADER_REPORT_NONCE"
CONNECT_PATIENCE_S = 300.0  # the zygote's imports, on a busy machine
SANDBOX = Path("/sandbox")
JOB_PARTS = ("job", "input")
OUT = SANDBOX / "out"
MAX_HEADER = 24


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.runner.zygote_request")
    parser.add_argument("--pids", type=int, required=True)
    parser.add_argument("--timeout-s", type=float, required=True)
    args = parser.parse_args(argv)
    nonce = os.environ.pop(NONCE_ENV, "")
    problem = receive_job(sys.stdin.buffer)
    report = _ask({"pids": args.pids, "timeout_s": args.timeout_s}) if problem is None \
        else {"healthy": False, "problems": [problem]}
    out = sys.stdout.buffer
    out.write(f"\n{nonce} {json.dumps(report)}\n".encode())
    if report.get("healthy") is True:
        send_results(out)
    out.flush()


def receive_job(stream: BinaryIO) -> str | None:
    """Unpack the host's job archive into a clean ``/sandbox``; a problem, or None."""
    header = stream.readline(MAX_HEADER)
    if not header.endswith(b"\n") or not header[:-1].isdigit():
        return "the job's header was not a size"
    size = int(header)
    data = stream.read(size)
    if len(data) != size:
        return f"the job archive ended after {len(data)} of {size} bytes"
    for name in JOB_PARTS:
        shutil.rmtree(SANDBOX / name, ignore_errors=True)
    # Written by the grading host (trusted): only job/ and input/ are taken from it.
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        members = [m for m in archive.getmembers()
                   if m.name.split("/", 1)[0] in JOB_PARTS and ".." not in m.name.split("/")
                   and (m.isfile() or m.isdir())]
        archive.extractall(SANDBOX, members=members)
    return None


def send_results(stream: BinaryIO) -> None:
    """``/sandbox/out`` as a tar on ``stream``; links and special files go in as what they
    are (the host skips them), nothing is followed."""
    with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as archive:
        if OUT.is_dir() and not OUT.is_symlink():
            archive.add(OUT, arcname=OUT.name, recursive=True)


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
