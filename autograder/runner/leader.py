"""One grade in a warm sandbox, run by the grade leader: a child of the zygote, root in the
container, forked once per submission (so it starts with the zygote's imports and nothing
of any earlier grade).

The leader
1. empties every place a grade can write, and gives the kernel's fresh uid a home holding
   only this submission's files;
2. forks the kernel, which drops to that uid with its own session, rlimits and
   ``oom_score_adj`` (the container's OOM killer takes student processes first), and
   becomes an in-process IPython kernel;
3. forks the runner, which drops to the runner's uid (not the kernel's, so the kernel can
   neither signal it nor touch what only it writes) and runs ``runner.execute`` — the
   same notebook execution as a cold sandbox — against that kernel;
4. waits (reaping everything: it is the grade's subreaper), within the grade's deadline;
5. kills every process of both uids, removes their IPC objects and files, checks nothing
   is left, and tells the client how it went.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import select
import shutil
import signal
import socket
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from autograder.runner import teardown

SANDBOX = Path("/sandbox")
JOB_DIR = SANDBOX / "job"
INPUT_DIR = SANDBOX / "input"
OUT_DIR = SANDBOX / "out"
CONNECTION_FILE = SANDBOX / "kernel.json"
HOME = Path("/home/student")
WORKDIR = HOME / "work"
DATASETS = Path("/opt/autograder/datasets")
# Every place in the container where a grade's processes can create files.
SCRATCH = (HOME, Path("/tmp"), Path("/dev/shm"), Path("/dev/mqueue"))
# Seconds past the notebook's limit before the leader stops the runner itself.
LEADER_GRACE_S = 5.0
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


@dataclass(frozen=True)
class GradeRequest:
    """What the client passes: the limits rlimits enforce per grade, and whether the client
    is the host itself on the bind-mounted socket (``direct``: the job, the report and the
    results then travel on the connection, which no grade process ever holds)."""

    pids: int
    timeout_s: float
    direct: bool = False

    @classmethod
    def decode(cls, data: bytes) -> GradeRequest:
        raw = json.loads(data)
        return cls(pids=int(raw["pids"]), timeout_s=float(raw["timeout_s"]),
                   direct=raw.get("direct") is True)


@dataclass
class GradeReport:
    """What the leader tells the host through the client (the host trusts it: only root in
    the container can write to the client's connection)."""

    exit_code: int | None = None
    timed_out: bool = False
    healthy: bool = True
    problems: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode()


@dataclass(frozen=True)
class Uids:
    runner: int
    kernel: int


def lead(connection: socket.socket, fds: list[int], request: GradeRequest, uids: Uids,
         base_env: dict[str, str]) -> None:
    """Run one grade; never returns (the leader exits when the grade is over).

    For a direct request the leader also does what zygote_request does for an exec: it
    takes the job from the connection (after a ``+`` saying it is ready for it), and after
    the grade — its output streams closed first, so the host sees the log end — writes the
    report on a line and, after a healthy grade, the results as a tar."""
    from autograder.runner.zygote_request import receive_job, send_results

    report = GradeReport()
    try:
        problem = None
        if request.direct:
            connection.sendall(b"+")
            with connection.makefile("rb") as stream:
                problem = receive_job(stream)
        if problem is None:
            _lead(fds, request, uids, base_env, report)
        else:
            report.healthy = False
            report.problems.append(problem)
    except BaseException:
        report.healthy = False
        report.problems.append("the grade leader failed: " + traceback.format_exc()[-1500:])
    try:
        if not request.direct:
            connection.sendall(report.encode())
        else:
            null = os.open(os.devnull, os.O_WRONLY)
            for fd in (1, 2):
                os.dup2(null, fd)
            connection.sendall(report.encode() + b"\n")
            if report.healthy:
                with connection.makefile("wb") as stream:
                    send_results(stream)
        connection.close()
    finally:
        os._exit(0)


def _lead(fds: list[int], request: GradeRequest, uids: Uids, base_env: dict[str, str],
          report: GradeReport) -> None:
    started = time.monotonic()
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])  # waited for with sigtimedwait
    _take_stdio(fds)
    _prepare(uids)
    _write_connection_file()
    env = _kernel_env(base_env)
    marks = {"prepared": time.monotonic()}
    kernel = _fork(lambda: _kernel_child(uids, request, env))
    ask, answer = os.pipe(), os.pipe()  # runner → leader: "stop the kernel"; and the reply
    runner = _fork(lambda: _runner_child(uids, kernel, ask[1], answer[0]))
    os.close(ask[1])
    os.close(answer[0])
    marks["forked"] = time.monotonic()
    code, timed_out = _wait(runner, uids, ask[0], answer[1],
                            deadline=started + request.timeout_s + LEADER_GRACE_S)
    marks["ran"] = time.monotonic()
    report.exit_code, report.timed_out = code, timed_out
    killed = [teardown.kill_all_of_uid(uid) for uid in (uids.kernel, uids.runner)]
    teardown.reap_all()
    teardown.wipe(SCRATCH)
    for path in (JOB_DIR, INPUT_DIR):
        shutil.rmtree(path, ignore_errors=True)
    CONNECTION_FILE.unlink(missing_ok=True)
    marks["torn_down"] = time.monotonic()
    problems = teardown.leftovers([uids.kernel, uids.runner], SCRATCH)
    if not all(killed):
        problems.insert(0, "a grade's processes could not all be killed")
    report.problems.extend(problems)
    report.healthy = not problems
    marks["checked"] = time.monotonic()
    previous = started
    for name, mark in marks.items():
        report.seconds[name] = round(mark - previous, 4)
        previous = mark


def _prctl(option: int, value: int) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _take_stdio(fds: list[int]) -> None:
    """The client's output streams become the grade's (they go back to the host as the
    run's log), and its stdin is replaced by /dev/null."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    for target, fd in zip((1, 2), fds[1:3], strict=False):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)


def _prepare(uids: Uids) -> None:
    """Empty every scratch place and the previous results; the kernel's home gets only
    this submission's files, owned by its uid."""
    teardown.wipe(SCRATCH)
    shutil.rmtree(OUT_DIR, ignore_errors=True)
    # The runner (in the kernel uid's group) reads the notebook; no other grade's uid can.
    os.chown(HOME, uids.kernel, uids.kernel)
    os.chmod(HOME, 0o750)
    shutil.copytree(INPUT_DIR, WORKDIR, symlinks=True)
    keras = HOME / ".keras"
    keras.mkdir()
    (keras / "datasets").symlink_to(DATASETS)
    for root, dirs, files in os.walk(HOME):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(root, name), uids.kernel, uids.kernel)
    # The runner's; the kernel may only pass through, to the staging folder the runner
    # shares with it for the probe's records (runner/staging.py).
    OUT_DIR.mkdir()
    os.chown(OUT_DIR, uids.runner, uids.kernel)
    os.chmod(OUT_DIR, 0o2710)


def _write_connection_file() -> None:
    from jupyter_client.connect import write_connection_file

    write_connection_file(str(CONNECTION_FILE), ip="127.0.0.1", transport="tcp")
    os.chmod(CONNECTION_FILE, 0o644)


def _kernel_env(base_env: dict[str, str]) -> dict[str, str]:
    """What a cold kernel's environment holds: the container's, the kernel settings and
    the job's own variables."""
    from autograder.runner.execute import KERNEL_ENV, Job

    return {**base_env, **KERNEL_ENV, **Job.read(JOB_DIR).env, "HOME": str(HOME),
            "JPY_PARENT_PID": str(os.getpid())}


def _fork(child: Any) -> int:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            child()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return pid


def _child_common(keep: tuple[int, ...] = ()) -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # Nothing of the zygote's or the leader's: the zygote's socket, the client's connection.
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def _kernel_child(uids: Uids, request: GradeRequest, env: dict[str, str]) -> None:
    from autograder.runner.leader_kernel import become_kernel

    _child_common()
    os.setsid()
    Path("/proc/self/oom_score_adj").write_text("1000")
    resource.setrlimit(resource.RLIMIT_NPROC, (request.pids, request.pids))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.setgroups([])
    os.setgid(uids.kernel)
    os.setuid(uids.kernel)
    os.umask(0o022)
    os.chdir(WORKDIR)
    os.environ.clear()
    os.environ.update(env)
    become_kernel(CONNECTION_FILE, WORKDIR)


def _runner_child(uids: Uids, kernel_pid: int, ask_fd: int, answer_fd: int) -> None:
    from autograder.runner.execute import run_job
    from autograder.runner.leader_kernel import WarmKernel, attached_manager

    _child_common(keep=(ask_fd, answer_fd))
    os.setgroups([uids.kernel])
    os.setgid(uids.runner)
    os.setuid(uids.runner)
    os.environ["HOME"] = "/tmp"
    kernel = WarmKernel(attached_manager(CONNECTION_FILE, kernel_pid), uids.kernel, ask_fd,
                        answer_fd)
    run_job(JOB_DIR, WORKDIR, OUT_DIR, kernel=kernel)


def _wait(runner: int, uids: Uids, ask_fd: int, answer_fd: int, *,
          deadline: float) -> tuple[int | None, bool]:
    """The runner's exit code, reaping every other child and answering the runner's
    request to stop the kernel meanwhile; past the deadline the runner is killed and
    (None, True) returned."""
    asking = True
    while True:
        try:
            reaped, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return None, False
        if reaped == runner:
            return os.waitstatus_to_exitcode(status), False
        if reaped != 0:
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(runner, signal.SIGKILL)
            _, status = os.waitpid(runner, 0)
            return None, True
        if not asking:
            signal.sigtimedwait([signal.SIGCHLD], min(left, 0.5))
            continue
        readable, _, _ = select.select([ask_fd], [], [], min(left, 0.02))
        if readable:
            asking = False
            _stop_kernel(uids, os.read(ask_fd, 4096).decode(errors="replace").strip())
            with contextlib.suppress(OSError):
                os.write(answer_fd, b"ok\n")


def _stop_kernel(uids: Uids, stage: str) -> None:
    """Kill every process of the kernel's uid, then hand what it staged to the runner (no
    process can change it any more); only a folder directly in the results is taken."""
    teardown.kill_all_of_uid(uids.kernel)
    path = Path(stage)
    if not stage or path.parent != OUT_DIR or not path.name.startswith(".staging-") \
            or path.is_symlink() or not path.is_dir():
        return
    for root, dirs, files in os.walk(path):  # never follows links
        for name in [*dirs, *files]:
            entry = os.path.join(root, name)
            with contextlib.suppress(OSError):
                if os.lstat(entry).st_uid == uids.kernel:
                    os.lchown(entry, uids.runner, uids.runner)
