"""Removing sandbox containers and volumes whose grader is gone.

A grader removes its containers once their results are read. One that is killed (``kill -9``,
a lost worker, an engine restart) leaves them behind, so each container and results volume
is labelled with the time after which no grader can still be using it. ``sweep`` removes
what has expired, and containers that have stopped (a sandbox container stops only when
its init ends, which happens only once it is no longer used). It is safe while other
graders share the engine: their containers have neither expired nor stopped.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import docker.errors
import requests

from autograder.image.context import LABEL_PREFIX

CONTAINER_LABEL = f"{LABEL_PREFIX}.sandbox"
SESSION_LABEL = f"{LABEL_PREFIX}.sandbox.session"
EXPIRES_LABEL = f"{LABEL_PREFIX}.sandbox.expires"
STOPPED_STATES = frozenset({"exited", "dead"})


def expired(labels: dict[str, str] | None, now: float) -> bool:
    """Whether an object's expiry label lies in the past (one without it never expires)."""
    try:
        return float((labels or {})[EXPIRES_LABEL]) < now
    except (KeyError, ValueError):
        return False


def sweep(client: Any, now: float | None = None) -> int:
    """Remove expired or stopped sandbox containers, then expired results volumes; return
    how many were removed. Best effort: a failure here must not stop grading."""
    now = time.time() if now is None else now
    removed = 0
    try:
        containers = client.containers.list(all=True, filters={"label": CONTAINER_LABEL})
        volumes = client.volumes.list(filters={"label": CONTAINER_LABEL})
    except (docker.errors.APIError, requests.RequestException):
        return 0
    for container in containers:
        if container.status in STOPPED_STATES or expired(container.labels, now):
            with contextlib.suppress(docker.errors.APIError, requests.RequestException):
                container.remove(force=True)
                removed += 1
    for volume in volumes:
        labels = volume.attrs.get("Labels") or {}
        # One without an expiry label comes from an older autograder: no grader can
        # still be about to mount it.
        if EXPIRES_LABEL not in labels or expired(labels, now):
            # A volume still mounted by a container is refused by the engine; left for later.
            with contextlib.suppress(docker.errors.APIError, requests.RequestException):
                volume.remove(force=True)
                removed += 1
    return removed
