"""Where data sets live: the public Keras cache the sandbox sees, and the judge-only
held-out arrays. Both default to the course's gitignored ``.cache/`` folder."""

from __future__ import annotations

import os
from pathlib import Path

from autograder.exercises import course_root

PUBLIC_DIR_ENV = "AUTOGRADER_PUBLIC_DATA_DIR"
HELDOUT_DIR_ENV = "AUTOGRADER_HELDOUT_DIR"
# Extra folders searched first for raw data sets (``fashion-mnist/*.gz``, ``mnist.npz``).
DATA_DIR_ENV = "AUTOGRADER_DATA_DIR"


def public_data_dir() -> Path:
    """The public Keras cache (``KERAS_HOME``): the local sandbox's kernel points at it, and
    the Docker image build copies it into the image. Holds no held-out sample."""
    configured = os.environ.get(PUBLIC_DIR_ENV)
    return Path(configured).resolve() if configured else \
        course_root() / ".cache" / "datasets" / "public"


def heldout_dir() -> Path:
    """The judge-only held-out arrays; never copied into a sandbox or an image."""
    configured = os.environ.get(HELDOUT_DIR_ENV)
    return Path(configured).resolve() if configured else \
        course_root() / ".cache" / "datasets" / "heldout"


def configured_data_dirs() -> list[Path]:
    """Folders named in ``$AUTOGRADER_DATA_DIR`` (``os.pathsep``-separated)."""
    value = os.environ.get(DATA_DIR_ENV, "")
    return [Path(part).expanduser() for part in value.split(os.pathsep) if part]


def keras_cache_dirs() -> list[Path]:
    """Keras's own caches: ``$KERAS_HOME/datasets`` and ``~/.keras/datasets``."""
    homes = [os.environ.get("KERAS_HOME", ""), str(Path.home() / ".keras")]
    return [Path(h).expanduser() / "datasets" for h in dict.fromkeys(homes) if h]
