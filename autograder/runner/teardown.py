"""Removing everything one grade left in a warm sandbox, and checking that it is gone.

A grade's processes all run as uids that belong to that grade alone (the kernel's uid,
fresh from a pool, and the runner's), so "everything it spawned" is "every process of those
uids": ``kill(-1, SIGKILL)`` from a process that has become that uid reaches each of them
(in this PID namespace) at once, including children forked a moment ago, and is repeated
until nothing is left to signal. System V IPC objects can only be removed by their owner or
creator, so the same process removes them. Files are removed by the grade leader (root)
from every place the container lets anyone write.

The health check that follows looks for anything a later grade could see: a process, an
IPC object, a file in a scratch folder, a listening socket. Anything found means the
sandbox is discarded, never reused.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import signal
import time
from collections.abc import Iterable
from pathlib import Path

IPC_RMID = 0
# Kinds of System V objects: the /proc/sysvipc file and the libc call that removes one.
_SYSV = (("shm", "shmctl"), ("sem", "semctl"), ("msg", "msgctl"))
KILL_PATIENCE_S = 10.0


def kill_all_of_uid(uid: int, *, patience_s: float = KILL_PATIENCE_S) -> bool:
    """In a child that becomes ``uid``: SIGKILL every process of ``uid`` until none is left
    alive, then remove its IPC objects. Returns whether the child reported success. The
    caller must be the subreaper of those processes: it reaps them while it waits."""
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            deadline = time.monotonic() + patience_s
            me = os.getpid()
            # kill(-1) signals every process this uid may signal, all at once (forks wait
            # for it to finish, and a child forked with SIGKILL pending never runs); it
            # reports success whenever any other process exists, so /proc says when done.
            while time.monotonic() < deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(-1, signal.SIGKILL)
                if not [p for p in processes_of([uid]) if p != me]:
                    break
                time.sleep(0.005)  # the killed ones are reaped by the caller
            else:
                os._exit(2)
            remove_sysv_ipc()
            code = 0
        finally:
            os._exit(code)
    return _wait_reaping_others(pid, patience_s + 5.0) == 0


def processes_of(uids: Iterable[int]) -> list[int]:
    """Processes (zombies included) whose real uid is one of ``uids``."""
    wanted = {str(uid) for uid in uids}
    found: list[int] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        if line.split()[1] in wanted:
                            found.append(int(entry.name))
                        break
        except OSError:
            continue  # it ended while we looked
    return found


def _wait_reaping_others(pid: int, timeout_s: float) -> int | None:
    """Wait for ``pid``, reaping every other child that ends meanwhile (the caller is the
    grade's subreaper, so the killed processes are its children)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            reaped, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return None
        if reaped == pid:
            return os.waitstatus_to_exitcode(status)
        if reaped == 0:
            signal.sigtimedwait([signal.SIGCHLD], 0.05)
    return None


def reap_all() -> None:
    """Collect every child that has ended, without waiting for any other."""
    while True:
        try:
            reaped, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if reaped == 0:
            return


def remove_sysv_ipc() -> None:
    """Remove every System V shared-memory segment, semaphore set and message queue this
    process may remove (the ones its uid owns or created)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    for kind, call in _SYSV:
        for ident in _sysv_ids(kind):
            if kind == "sem":
                libc.semctl(ident, 0, IPC_RMID)
            else:
                getattr(libc, call)(ident, IPC_RMID, None)


def _sysv_ids(kind: str) -> list[int]:
    try:
        lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
    except OSError:
        return []
    return [int(line.split()[1]) for line in lines if line.split()]


def wipe(folders: Iterable[Path]) -> None:
    """Empty each folder (keeping the folder: most are mount points). Never follows links."""
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def leftovers(uids: Iterable[int], scratch: Iterable[Path]) -> list[str]:
    """What a grade left that a later one could see; empty when the sandbox is clean."""
    found = [f"process {pid}" for pid in processes_of(uids)]
    for kind, _ in _SYSV:
        found.extend(f"System V {kind} object {ident}" for ident in _sysv_ids(kind))
    for folder in scratch:
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            continue
        found.extend(f"file {folder / name}" for name in names)
    found.extend(_listening_sockets())
    return found


def _listening_sockets() -> list[str]:
    """Abstract Unix sockets and TCP/UDP listeners: a sandbox has no network, so any one
    left after a grade was opened by that grade's processes."""
    found: list[str] = []
    try:
        for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 8 and fields[7].startswith("@"):
                found.append(f"abstract socket {fields[7]}")
    except OSError:
        pass
    for name in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        found.extend(f"{name} listener {line.split()[1]}" for line in lines
                     if len(line.split()) > 3 and line.split()[3] == "0A")  # 0A: LISTEN
    return found
