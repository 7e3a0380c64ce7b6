"""The warm grade's one exec: the job written to its stdin and unpacked in the container, the
output sorted into the log, the leader's report and the results tar (without an engine)."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from autograder.runner import zygote_request
from autograder.sandbox.readback import extract
from autograder.sandbox.warm_exchange import GradeOutput, job_message

NONCE = "0f" * 16
STDERR = 2


def _results_tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _frames(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("frame_size", [1, 7, 64, 1 << 20])
def test_the_report_and_results_are_found_however_the_stream_is_cut(
        frame_size: int, tmp_path: Path) -> None:
    report = {"healthy": True, "exit_code": 0, "seconds": {"ran": 0.4}}
    stream = (b"student says hi\n" + f"\n{NONCE} {json.dumps(report)}\n".encode()
              + _results_tar({"out/execution.json": b"{}", "out/probe/0.json": b"[1]"}))
    output = GradeOutput(NONCE, log_limit=1000, results_limit=1 << 20)
    frames = _frames(stream, frame_size)
    for index, frame in enumerate(frames):
        if index == len(frames) // 4:
            assert output.feed(STDERR, b"a warning\n")
        assert output.feed(1, frame)
    assert output.reported and output.report == report
    assert "student says hi" in output.log_text() and NONCE not in output.log_text()
    readback = extract(output.results, tmp_path, strip="out", max_bytes=1 << 20)
    assert readback.files == 2 and not readback.truncated
    assert (tmp_path / "probe" / "0.json").read_bytes() == b"[1]"


def test_without_the_nonce_there_is_no_report_and_the_log_stays_bounded() -> None:
    output = GradeOutput(NONCE, log_limit=4096, results_limit=1 << 20)
    forged = f"\n{'ab' * 16} {json.dumps({'healthy': True})}\n".encode()
    for _ in range(2000):  # an output flood, with a report under a guessed nonce
        assert output.feed(1, forged + b"x" * 1000)
        assert output.feed(STDERR, b"y" * 1000)
    assert not output.reported and output.report == {}
    assert len(output.log_text()) <= 4096


def test_stderr_after_the_report_is_not_taken_for_results(tmp_path: Path) -> None:
    output = GradeOutput(NONCE, log_limit=1000, results_limit=1 << 20)
    output.feed(1, f"\n{NONCE} {{\"healthy\": true}}\n".encode())
    output.feed(STDERR, b"not a tar")
    output.feed(1, _results_tar({"out/a.json": b"1"}))
    assert extract(output.results, tmp_path, strip="out", max_bytes=100).files == 1


def test_results_over_their_bound_stop_the_reading(tmp_path: Path) -> None:
    output = GradeOutput(NONCE, log_limit=1000, results_limit=10_000)
    output.feed(1, f"\n{NONCE} {{\"healthy\": true}}\n".encode())
    big = _results_tar({"out/big.bin": b"\0" * 10_000_000})
    frames = _frames(big, 65536)
    read = next(i for i, frame in enumerate(frames) if not output.feed(1, frame))
    assert output.results_cut and read < len(frames) // 2
    assert sum(map(len, output.results)) < 5_000_000
    assert extract(output.results, tmp_path, strip="out", max_bytes=10_000).truncated


def test_an_endless_report_line_is_no_report() -> None:
    output = GradeOutput(NONCE, log_limit=1000, results_limit=1000)
    assert output.feed(1, f"\n{NONCE} {{".encode())
    fed = [output.feed(1, b"x" * 8192) for _ in range(20)]
    assert fed[-1] is False and not output.reported


def test_the_job_round_trips_and_replaces_the_last_one(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    job, work = tmp_path / "job", tmp_path / "work"
    (work / "models").mkdir(parents=True)
    job.mkdir()
    (job / "plan.json").write_text("{}")
    (work / "mse.ipynb").write_text("notebook")
    (work / "models" / "m.keras").write_bytes(b"\x00weights")
    os.symlink("/etc/passwd", work / "link")  # never sent: a link is not the student's file
    sandbox = tmp_path / "sandbox"
    (sandbox / "input").mkdir(parents=True)
    (sandbox / "input" / "previous.ipynb").write_text("someone else's")
    monkeypatch.setattr(zygote_request, "SANDBOX", sandbox)
    assert zygote_request.receive_job(io.BytesIO(job_message(job, work))) is None
    assert sorted(p.relative_to(sandbox).as_posix() for p in sandbox.rglob("*")) == [
        "input", "input/models", "input/models/m.keras", "input/mse.ipynb", "job",
        "job/plan.json"]
    assert (sandbox / "input" / "models" / "m.keras").read_bytes() == b"\x00weights"


@pytest.mark.parametrize("message", [b"", b"12", b"nonsense\n", b"100\nshort"])
def test_a_broken_job_message_is_a_problem_not_a_crash(message: bytes, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zygote_request, "SANDBOX", tmp_path)
    assert isinstance(zygote_request.receive_job(io.BytesIO(message)), str)


def test_results_go_out_as_they_are_links_and_fifos_unfollowed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "sandbox" / "out"
    (out / "probe").mkdir(parents=True)
    (out / "probe" / "0.json").write_text("[2]")
    os.symlink("/etc/shadow", out / "probe" / "1.json")
    os.mkfifo(out / "probe" / "pipe")  # reading it would block for ever
    monkeypatch.setattr(zygote_request, "OUT", out)
    stream = io.BytesIO()
    zygote_request.send_results(stream)
    target = tmp_path / "back"
    target.mkdir()
    readback = extract([stream.getvalue()], target, strip="out", max_bytes=1 << 20)
    assert (target / "probe" / "0.json").read_text() == "[2]"
    assert readback.files == 1 and len(readback.skipped) == 2
