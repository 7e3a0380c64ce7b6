"""The Keras image exercises: data sets, held-out splits kept out of the sandbox, and
fast vs full grading. Needs `python -m autograder datasets prepare` (run on demand here)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.datasets import heldout_dir, load_heldout, prepare, public_data_dir
from autograder.datasets.idx import read_idx, write_idx
from autograder.exercises import get_exercise
from autograder.pipeline import GradeOptions, grade
from autograder.sandbox import LocalSandbox

HELDOUT_SETS = ("fashion-mnist", "mnist", "own-images")

# Runs inside the sandbox as a "student" notebook: lists every file it can reach under its
# working directory and KERAS_HOME, decodes every image it finds there (IDX, npz, PNG) and
# writes the SHA-256 of each image's pixels to OUT.
SCAN_CELL = '''
import gzip, hashlib, json, os, struct
from pathlib import Path
import numpy as np
from PIL import Image

def images_in(path):
    if path.name.endswith("-ubyte.gz"):
        data = gzip.open(path).read()
        ndim = data[3]
        shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
        if ndim == 3:
            yield from np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape[0], -1)
    elif path.suffix == ".npz":
        with np.load(path) as arrays:
            for key in arrays.files:
                if arrays[key].ndim >= 3:
                    yield from arrays[key].reshape(len(arrays[key]), -1)
    elif path.suffix == ".png":
        yield np.asarray(Image.open(path)).reshape(-1)

files, seen = [], set()
for root in (Path.cwd(), Path(os.environ["KERAS_HOME"])):
    for path in root.rglob("*"):
        if path.is_file():
            files.append(str(path))
            for image in images_in(path):
                seen.add(hashlib.sha256(image.astype(np.uint8).tobytes()).hexdigest())
Path(OUT).write_text(json.dumps(
    {"keras_home": os.environ["KERAS_HOME"], "files": files, "hashes": sorted(seen)}))
'''


def _hashes(images: np.ndarray) -> set[str]:
    rows = np.asarray(images, dtype=np.uint8).reshape(len(images), -1)
    return {hashlib.sha256(row.tobytes()).hexdigest() for row in rows}


@pytest.fixture(scope="module")
def prepared() -> None:
    if not (heldout_dir() / "manifest.json").is_file():
        prepare(public_data_dir(), heldout_dir(), allow_download=False)


def test_idx_files_round_trip(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28)).astype(np.uint8)
    write_idx(images, tmp_path / "images.gz")
    np.testing.assert_array_equal(read_idx(tmp_path / "images.gz"), images)
    write_idx(images[:, 0, 0], tmp_path / "labels.gz")
    np.testing.assert_array_equal(read_idx(tmp_path / "labels.gz"), images[:, 0, 0])


@pytest.mark.slow
def test_the_public_cache_lacks_exactly_the_held_out_rows(prepared: None) -> None:
    fashion = public_data_dir() / "datasets" / "fashion-mnist"
    public_test = read_idx(fashion / "t10k-images-idx3-ubyte.gz")
    heldout = load_heldout("fashion-mnist")
    assert len(public_test) + len(heldout) == 10_000
    assert len(read_idx(fashion / "train-images-idx3-ubyte.gz")) == 60_000
    assert len(_hashes(heldout.x)) == len(heldout)  # distinct images, so the check below bites
    assert not _hashes(heldout.x) & _hashes(public_test)
    own = load_heldout("own-images")
    assert own.class_names == ("ankle_boot", "sneaker") and set(own.y.tolist()) == {0, 1}
    assert own.x.shape[1:] == (28, 28, 1) and "dataset-fashion-mnist" in own.source


@pytest.mark.slow
def test_held_out_samples_are_absent_from_the_sandbox(prepared: None, tmp_path: Path) -> None:
    report = tmp_path / "seen.json"
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(f"OUT = {str(report)!r}\n" + SCAN_CELL)])
    submission = tmp_path / "fashion-mnist.ipynb"
    nbformat.write(notebook, submission)
    # The local sandbox is not isolated, which lets the notebook report what it saw.
    grade(exercise=get_exercise("fashion-mnist"), submission=submission,
          sandbox=LocalSandbox(), options=GradeOptions(mode="fast"))
    seen = json.loads(report.read_text())

    assert Path(seen["keras_home"]) == public_data_dir()
    names = {Path(f).name for f in seen["files"]}
    assert {"t10k-images-idx3-ubyte.gz", "mnist.npz", "fashion-mnist.ipynb"} <= names
    assert sum(f.endswith(".png") for f in seen["files"]) >= 2000
    hashes = set(seen["hashes"])
    public_test = read_idx(public_data_dir() / "datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
    assert _hashes(public_test[:100]) <= hashes  # the scan does find what is there
    for name in HELDOUT_SETS:
        leaked = _hashes(load_heldout(name).x) & hashes
        assert not leaked, f"{len(leaked)} held-out {name} images are visible in the sandbox"


@pytest.mark.slow
@pytest.mark.parametrize("exercise", ["fashion-mnist", "cnn"])
def test_fast_and_full_mode_agree(prepared: None, tmp_path: Path, exercise: str) -> None:
    from benchmarks.fast_vs_full import WEAK_VARIANT, compare

    solution = compare(exercise, "solution", tmp_path, LocalSandbox())
    assert solution.agree, (solution.full.tests, solution.fast.tests)
    assert solution.full.score == solution.full.max_score == solution.fast.score
    # Fast mode skips the training and evaluation cells; the public checks after them fail
    # softly, so the notebook reports no error in either mode.
    assert solution.fast.problems == solution.full.problems == []
    assert solution.full.metadata["datasets"]["fashion-mnist"]  # the source is recorded
    weak = compare(exercise, WEAK_VARIANT, tmp_path, LocalSandbox())
    assert weak.agree, (weak.full.tests, weak.fast.tests)
    failed = {t.name for t in weak.fast.tests if t.status != "passed"}
    assert failed == {t.name for t in weak.fast.tests if "held-out accuracy" in t.name}
    assert solution.fast_s < solution.full_s
