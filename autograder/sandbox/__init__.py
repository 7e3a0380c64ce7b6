"""Where student code runs. See base.py for the contract."""

from __future__ import annotations

import os
from typing import Any

from autograder.sandbox.base import (
    InfrastructureError,
    Sandbox,
    SandboxJob,
    SandboxOutcome,
    SandboxUnavailableError,
)
from autograder.sandbox.local import LocalSandbox

SANDBOX_NAMES = ("auto", "local", "docker", "unprivileged")


class UnisolatedRefusedError(SandboxUnavailableError):
    """``auto`` found no isolated sandbox where isolation is required."""


def make_sandbox(name: str = "auto", *, isolated_only: bool = False,
                 **options: Any) -> Sandbox:
    """The sandbox called ``name``. ``auto`` means Docker when an engine and the image are
    reachable; else, when running as root, the unprivileged sandbox; else the unisolated
    local one, unless ``isolated_only``: then it refuses (UnisolatedRefusedError). Grading
    other people's notebooks (a batch, a release's validation, an LMS) passes
    ``isolated_only``, so a Docker engine that died never silently runs a class's code as
    the instructor; only an explicit ``local`` does that."""
    if name == "local":
        return LocalSandbox()
    if name == "unprivileged":
        return _unprivileged(options.get("user"))
    if name == "docker":
        return _docker(options)
    if name != "auto":
        raise ValueError(f"unknown sandbox {name!r}; choose from {', '.join(SANDBOX_NAMES)}")
    reasons = []
    try:
        return _docker(options)
    except SandboxUnavailableError as exc:
        reasons.append(f"Docker: {exc}")
    if os.geteuid() == 0:
        try:
            return _unprivileged(options.get("user"))
        except SandboxUnavailableError as exc:
            reasons.append(f"unprivileged: {exc}")
    else:
        reasons.append("unprivileged: needs root")
    if not isolated_only:
        return LocalSandbox()
    raise UnisolatedRefusedError(
        "no isolated sandbox is available (" + "; ".join(reasons) + "), and this command "
        "runs other people's code: it will not run it unisolated. Fix the sandbox, or pass "
        "--sandbox local to run the notebooks as yourself on this machine (only for "
        "notebooks you trust).")


def _docker(options: dict[str, Any]) -> Sandbox:
    try:
        from autograder.sandbox.docker import DockerSandbox
    except (ImportError, SandboxUnavailableError) as exc:
        if isinstance(exc, SandboxUnavailableError):
            raise
        raise SandboxUnavailableError(f"the Docker sandbox cannot be loaded: {exc}") from exc
    settings = {k: v for k, v in options.items() if k not in ("user", "warm")}
    if options.get("warm"):
        # One long-lived container per process, forking a fresh grade per submission.
        from autograder.sandbox.warm import WarmDockerSandbox

        return WarmDockerSandbox.connect(**settings)
    return DockerSandbox.connect(**settings)


def _unprivileged(user: str | None) -> Sandbox:
    from autograder.sandbox.unprivileged import STUDENT_USER, UnprivilegedSandbox

    return UnprivilegedSandbox(user=user or STUDENT_USER)


__all__ = ["SANDBOX_NAMES", "InfrastructureError", "LocalSandbox", "Sandbox", "SandboxJob",
           "SandboxOutcome", "SandboxUnavailableError", "UnisolatedRefusedError",
           "make_sandbox"]
