"""Public data sets baked into the sandbox image, from files already on the build host.

Nothing is downloaded: a data set whose files are not found locally is simply left out
(``image info`` lists what an image holds). Each one lands in the image under
``/opt/autograder/datasets/<name>/``, which the sandbox links to ``~/.keras/datasets``,
so ``keras.datasets.<name>.load_data()`` finds it offline. To add one, append a
``PublicDataset`` here, or pass ``--dataset NAME=FOLDER`` to ``autograder image build``.
Only public data belongs here: held-out test data stays with the judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PublicDataset:
    name: str  # the folder name Keras expects under ~/.keras/datasets
    files: tuple[str, ...]
    sources: tuple[Path, ...]  # host folders tried in order

    def find(self) -> Path | None:
        for folder in self.sources:
            if all((folder / name).is_file() for name in self.files):
                return folder
        return None


PUBLIC_DATASETS: tuple[PublicDataset, ...] = (
    PublicDataset(
        name="fashion-mnist",
        files=("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
        # Debian package dataset-fashion-mnist.
        sources=(Path("/usr/share/datasets/fashion-mnist"),),
    ),
)


def dataset_files(extra: dict[str, Path] | None = None) -> dict[str, Path]:
    """Build-context path (``datasets/<name>/<file>``) → host file, for every data set
    found on this host plus the ``extra`` folders given by name."""
    found: dict[str, Path] = {}
    for dataset in PUBLIC_DATASETS:
        folder = dataset.find()
        if folder is not None:
            for name in dataset.files:
                found[f"datasets/{dataset.name}/{name}"] = folder / name
    for name, folder in (extra or {}).items():
        if not folder.is_dir():
            raise FileNotFoundError(f"data set folder {folder} does not exist")
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
            found[f"datasets/{name}/{path.relative_to(folder).as_posix()}"] = path
    return found
