"""A Jupyter kernel that cannot open network connections, for hosts without namespaces.

Used as the ``python3`` kernelspec by the unprivileged sandbox. Before ipykernel starts,
a seccomp filter makes ``connect``, ``sendmsg``/``sendmmsg``, TCP Fast Open, UDP and raw
sockets, ``io_uring_setup``, ``ptrace`` and ``process_vm_*`` fail with EPERM in this
process and everything it starts. The kernel itself only binds and accepts TCP on
loopback (the runner connects to it) and reads interfaces over netlink, so it keeps
working. The filter is written in classic BPF with ctypes: no
libseccomp is needed.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import runpy
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
AF_UNIX, AF_INET, AF_INET6, AF_NETLINK = 1, 2, 10, 16
SOCK_STREAM, SOCK_TYPE_MASK = 1, 0xF
MSG_FASTOPEN = 0x20000000
# (audit arch, {syscall: number}) per machine
ARCHES = {
    "x86_64": (0xC000003E, {"socket": 41, "connect": 42, "sendto": 44, "sendmsg": 46,
                            "sendmmsg": 307, "ptrace": 101, "process_vm_readv": 310,
                            "process_vm_writev": 311, "io_uring_setup": 425}),
    "aarch64": (0xC00000B7, {"socket": 198, "connect": 203, "sendto": 206, "sendmsg": 211,
                             "sendmmsg": 269, "ptrace": 117, "process_vm_readv": 270,
                             "process_vm_writev": 271, "io_uring_setup": 425}),
}
ALWAYS_DENIED = ("connect", "sendmsg", "sendmmsg", "ptrace", "process_vm_readv",
                 "process_vm_writev", "io_uring_setup")
LD_W_ABS, ALU_AND_K, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x54, 0x15, 0x35, 0x45, 0x06
NR, ARCH = 0, 4


def _arg(index: int) -> int:
    """Offset of the low 32 bits of syscall argument ``index`` in seccomp_data."""
    return 16 + 8 * index


Op = tuple[int, int, str | int, str | int]  # code, k, jump if true, jump if false


def program(machine: str) -> bytes:
    """The filter. Jumps name a label ("allow", "deny", or a block) or 0 for "next"."""
    arch, numbers = ARCHES[machine]
    blocks: list[tuple[str, list[Op]]] = [("start", [
        (LD_W_ABS, ARCH, 0, 0), (JEQ_K, arch, 0, "deny"), (LD_W_ABS, NR, 0, 0),
        *([(JGE_K, 0x40000000, "deny", 0)] if machine == "x86_64" else []),  # x32 ABI
        *[(JEQ_K, numbers[name], "deny", 0) for name in ALWAYS_DENIED],
        (JEQ_K, numbers["sendto"], "sendto", 0),
        (JEQ_K, numbers["socket"], "socket", "allow"),
    ]), ("sendto", [  # TCP Fast Open would connect from sendto
        (LD_W_ABS, _arg(3), 0, 0), (JSET_K, MSG_FASTOPEN, "deny", "allow"),
    ]), ("socket", [  # local sockets, and TCP only for the kernel's own (bound) sockets
        (LD_W_ABS, _arg(0), 0, 0), (JEQ_K, AF_UNIX, "allow", 0),
        (JEQ_K, AF_NETLINK, "allow", 0), (JEQ_K, AF_INET, "stream", 0),
        (JEQ_K, AF_INET6, "stream", "deny"),
    ]), ("stream", [
        (LD_W_ABS, _arg(1), 0, 0), (ALU_AND_K, SOCK_TYPE_MASK, 0, 0),
        (JEQ_K, SOCK_STREAM, "allow", "deny"),
    ]), ("allow", [(RET_K, SECCOMP_RET_ALLOW, 0, 0)]),
        ("deny", [(RET_K, SECCOMP_RET_ERRNO | errno.EPERM, 0, 0)])]
    where: dict[str, int] = {}
    flat: list[Op] = []
    for label, ops in blocks:
        where[label] = len(flat)
        flat += ops

    def offset(target: str | int, index: int) -> int:
        return target if isinstance(target, int) else where[target] - index - 1

    return b"".join(struct.pack("HBBI", code, offset(jt, i), offset(jf, i), k)
                    for i, (code, k, jt, jf) in enumerate(flat))


def install() -> None:
    machine = platform.machine()
    if machine not in ARCHES:
        raise OSError(f"no network filter for {machine}")
    code = program(machine)
    filters = ctypes.create_string_buffer(code)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(len(code) // 8, ctypes.cast(filters, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                           ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0 or \
            libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "could not install the network filter")


def main() -> None:
    install()
    os.environ.pop("AUTOGRADER_NONET", None)
    sys.argv = ["ipykernel_launcher", *sys.argv[1:]]
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
