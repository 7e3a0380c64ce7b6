"""The unprivileged sandbox: for LMS grading containers (Gradescope) where we are root and
Docker is not available.

The runner and the student's kernel run as a dedicated unprivileged user that cannot read
the hidden graders (root-only files) nor write the results location. Limits come from
setrlimit (address space, processes, file size, CPU time) and a wall-clock kill of the
whole process group. Network: a fresh network namespace with only loopback when the host
allows it (CAP_SYS_ADMIN); in every case the kernel runs under a seccomp filter that
refuses outgoing connections (see nonet_kernel.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import pwd
import resource
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

from autograder.sandbox.base import Sandbox, SandboxJob, SandboxOutcome, SandboxUnavailableError
from autograder.sandbox.process import run_process_group, runner_command

STUDENT_USER = "autograder-student"
CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
# Headroom over the memory limit for the address space a Python/Jupyter process maps but
# never touches (thread stacks, shared libraries, allocator arenas).
ADDRESS_SPACE_HEADROOM_MB = 1024
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))


def _new_network_namespace() -> bool:
    """Move this process into a fresh network namespace with loopback up. Both steps need
    privileges (CAP_SYS_ADMIN, then CAP_NET_ADMIN); without loopback the runner could not
    even talk to its kernel, so a namespace without it counts as unavailable."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        return False
    try:
        _loopback_up()
    except OSError:
        return False
    return True


def network_namespaces_available() -> bool:
    """Whether this process may create a network namespace (tried in a throwaway child)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        # Whatever happens, the child must end here and never run on as a second parent.
        usable = False
        with contextlib.suppress(BaseException):
            usable = _new_network_namespace()
        os._exit(0 if usable else 1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


class UnprivilegedSandbox(Sandbox):
    name = "unprivileged"
    isolated = True

    def __init__(self, user: str = STUDENT_USER, python: str | None = None) -> None:
        if os.geteuid() != 0:
            raise SandboxUnavailableError("the unprivileged sandbox must be started as root")
        try:
            self.account = pwd.getpwnam(user)
        except KeyError:
            raise SandboxUnavailableError(f"no user {user!r}: create it (setup.sh does)") \
                from None
        self.python = python or sys.executable
        self.network_namespace = network_namespaces_available()

    def describe(self) -> str:
        network = "network namespace" if self.network_namespace else "seccomp network filter"
        return f"unprivileged user {self.account.pw_name}, {network}"

    def _hand_over(self, job: SandboxJob, home: Path) -> None:
        """The student user may read the job, write workdir/out/home, and nothing else."""
        uid, gid = self.account.pw_uid, self.account.pw_gid
        os.chmod(job.job_dir.parent, 0o711)  # traverse only: no listing of siblings
        for folder in (job.workdir, job.out_dir, home):
            for path in [folder, *folder.rglob("*")]:
                os.chown(path, uid, gid, follow_symlinks=False)
        for path in [job.job_dir, *job.job_dir.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)

    def _kernelspec(self, home: Path) -> Path:
        spec = home / "jupyter" / "kernels" / "python3"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [self.python, "-m", "autograder.sandbox.nonet_kernel", "-f",
                     "{connection_file}"],
            "display_name": "Python 3 (no network)", "language": "python",
        }), encoding="utf-8")
        return home / "jupyter"

    def _drop_privileges(self, job: SandboxJob) -> Callable[[], None]:
        limits = job.limits
        uid, gid = self.account.pw_uid, self.account.pw_gid
        use_namespace = self.network_namespace

        def in_child() -> None:  # runs between fork and exec, still as root
            os.setsid()
            if use_namespace and not _new_network_namespace():
                os._exit(97)
            address_space = (limits.memory_mb + ADDRESS_SPACE_HEADROOM_MB) * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.pids, limits.pids))
            disk = limits.disk_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_FSIZE, (disk, disk))
            cpu = int(limits.wall_s * max(1.0, limits.cpus)) + 30
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)

        return in_child

    def run(self, job: SandboxJob) -> SandboxOutcome:
        home = job.job_dir.parent / "home"
        home.mkdir(exist_ok=True)
        jupyter_path = self._kernelspec(home)
        self._hand_over(job, home)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
            "HOME": str(home), "JUPYTER_PATH": str(jupyter_path),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_CONFIG_DIR": str(home / "cfg"),
            "IPYTHONDIR": str(home / "ipython"), "MPLCONFIGDIR": str(home / "mpl"),
            "PYTHONUNBUFFERED": "1", "LANG": "C.UTF-8", **THREAD_ENV,
        }
        return run_process_group(runner_command(self.python, job), job, env=env,
                                 preexec_fn=self._drop_privileges(job),
                                 after_kill=self._kill_leftovers)

    def _kill_leftovers(self) -> None:
        """Processes the student started in a new session escape killpg; the uid does not."""
        for _ in range(3):
            found = False
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    with contextlib.suppress(OSError):
                        if entry.stat().st_uid == self.account.pw_uid:
                            found = True
                            os.kill(int(entry.name), signal.SIGKILL)
            if not found:
                return
            time.sleep(0.1)
