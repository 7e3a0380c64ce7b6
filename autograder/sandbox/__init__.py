"""Where student code runs. See base.py for the contract."""

from __future__ import annotations

from typing import Any

from autograder.sandbox.base import (
    Sandbox,
    SandboxJob,
    SandboxOutcome,
    SandboxUnavailableError,
)
from autograder.sandbox.local import LocalSandbox

SANDBOX_NAMES = ("auto", "local", "docker")


def make_sandbox(name: str = "auto", **options: Any) -> Sandbox:
    """The sandbox called ``name``; ``auto`` means Docker when an engine and the image are
    reachable, else the (unisolated) local one."""
    if name == "local":
        return LocalSandbox()
    if name in ("docker", "auto"):
        try:
            from autograder.sandbox.docker import DockerSandbox

            return DockerSandbox.connect(**options)
        except (ImportError, SandboxUnavailableError) as exc:
            if name == "auto":
                return LocalSandbox()
            if isinstance(exc, SandboxUnavailableError):
                raise
            raise SandboxUnavailableError(f"the Docker sandbox cannot be loaded: {exc}") from exc
    raise ValueError(f"unknown sandbox {name!r}; choose from {', '.join(SANDBOX_NAMES)}")


__all__ = ["SANDBOX_NAMES", "LocalSandbox", "Sandbox", "SandboxJob", "SandboxOutcome",
           "SandboxUnavailableError", "make_sandbox"]
