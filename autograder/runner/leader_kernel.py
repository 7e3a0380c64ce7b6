"""The two ends of a warm kernel: the forked child that becomes an IPython kernel in the
process it already is (Python, NumPy and TensorFlow already imported), and the kernel
manager the notebook runner uses to drive that kernel without having started it.

The runner runs as another uid than the kernel, so it cannot signal it: interrupts go as
``interrupt_request`` messages on the control channel (the kernel then signals itself, as
ipykernel does for any kernel whose spec asks for message interrupts), and "is it alive"
is ``kill(pid, 0)`` answering EPERM (alive) or ESRCH (gone; the grade leader reaps it at
once, so a dead kernel never lingers as a zombie).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning.provisioner_base import KernelProvisionerBase

KERNEL_ID = "warm"


def become_kernel(connection_file: Path, workdir: Path) -> None:
    """Turn this (freshly forked, already unprivileged) process into an IPython kernel
    serving ``connection_file``; returns when the kernel is asked to shut down."""
    import ipykernel.kernelapp
    from ipykernel.kernelapp import IPKernelApp

    # A fresh interpreter seeds its random generators from the OS; a fork inherits the
    # zygote's state, which would give every student the same unseeded numbers.
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    # What `python -m ipykernel_launcher` in the notebook's folder would see.
    sys.argv = [str(Path(ipykernel.kernelapp.__file__).with_name("kernelapp.py")),
                "-f", str(connection_file)]
    if sys.path and sys.path[0] in ("", "/"):
        sys.path[0] = str(workdir)
    else:
        sys.path.insert(0, str(workdir))
    app = IPKernelApp.instance()
    # As for a kernel jupyter_client starts: it ends with its parent (the grade leader).
    app.initialize(["-f", str(connection_file),
                    f"--IPKernelApp.parent_handle={os.getppid()}"])
    app.start()


class AttachedProvisioner(KernelProvisionerBase):
    """A provisioner for a kernel someone else started: it never launches or kills."""

    pid: int = 0

    @property
    def has_process(self) -> bool:
        return True

    async def poll(self) -> int | None:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return 1
        except PermissionError:
            return None  # alive, and not ours to signal
        return None

    async def wait(self) -> int | None:
        while await self.poll() is None:
            await asyncio.sleep(0.05)
        return 1

    async def send_signal(self, signum: int) -> None:
        # Usually refused (another uid): the grade leader kills the kernel when it ends.
        with contextlib.suppress(OSError):
            os.kill(self.pid, signum)

    async def kill(self, restart: bool = False) -> None:
        await self.send_signal(9)

    async def terminate(self, restart: bool = False) -> None:
        await self.send_signal(15)

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        raise RuntimeError("a warm kernel is started by the grade leader, not by the runner")

    async def cleanup(self, restart: bool = False) -> None:
        return None

    def get_provisioner_info(self) -> Any:
        return {}


class WarmKernel:
    """The runner's handle on a warm kernel (execute.RunningKernel): the manager, and a
    pipe pair to the grade leader, which alone can stop the kernel's uid."""

    def __init__(self, manager: AsyncKernelManager, kernel_gid: int, ask_fd: int,
                 answer_fd: int) -> None:
        self.manager = manager
        self.kernel_gid = kernel_gid
        self.ask_fd, self.answer_fd = ask_fd, answer_fd

    def share_stage(self, stage: Path) -> None:
        # The results folder stays the runner's (staging.create made it private); the
        # kernel's group may only pass through it, into this folder.
        os.chown(stage.parent, -1, self.kernel_gid)
        os.chmod(stage.parent, 0o710)
        os.chown(stage, -1, self.kernel_gid)
        os.chmod(stage, 0o2770)

    def stop(self, stage: Path | None) -> None:
        """Ask the leader to kill every process of the kernel's uid and give what it
        staged to this uid; wait for its answer (or for it to go away)."""
        with contextlib.suppress(OSError):
            os.write(self.ask_fd, (str(stage) if stage else "").encode() + b"\n")
            os.read(self.answer_fd, 16)


def attached_manager(connection_file: Path, pid: int) -> AsyncKernelManager:
    """A kernel manager on the running kernel ``pid`` that listens at ``connection_file``."""
    spec = KernelSpec(argv=[], display_name="Python 3", language="python",
                      interrupt_mode="message")
    manager = AsyncKernelManager(kernel_name="python3")
    manager._kernel_spec = spec
    manager.load_connection_file(str(connection_file))
    provisioner = AttachedProvisioner(kernel_id=KERNEL_ID, kernel_spec=spec, parent=manager)
    provisioner.pid = pid
    manager.provisioner = provisioner
    return manager
