"""Public data sets baked into the sandbox image, from files already on the build host.

Nothing is downloaded. The image takes the public Keras cache that
``autograder datasets prepare`` writes (``public_data_dir()/datasets``: Fashion-MNIST
without its held-out test rows, MNIST's public part, the own-images folders) and puts it
under ``/opt/autograder/datasets/``, which the sandbox links to ``~/.keras/datasets`` so
``keras.datasets.<name>.load_data()`` finds it offline. Held-out data stays with the judge:
it is prepared into a separate folder and never copied here. More folders can be added with
``autograder image build --dataset NAME=FOLDER``.
"""

from __future__ import annotations

from pathlib import Path

from autograder.datasets.locations import public_data_dir


class PublicDataMissingError(FileNotFoundError):
    pass


def _files_under(folder: Path, prefix: str) -> dict[str, Path]:
    return {f"{prefix}/{path.relative_to(folder).as_posix()}": path
            for path in sorted(folder.rglob("*")) if path.is_file() and not path.is_symlink()}


def dataset_files(extra: dict[str, Path] | None = None) -> dict[str, Path]:
    """Build-context path (``datasets/...``) → host file, for the prepared public cache
    plus the ``extra`` folders given by name."""
    public = public_data_dir() / "datasets"
    if not public.is_dir():
        raise PublicDataMissingError(
            f"no public data sets at {public}: run `autograder datasets prepare` first")
    found = _files_under(public, "datasets")
    for name, folder in (extra or {}).items():
        if not folder.is_dir():
            raise FileNotFoundError(f"data set folder {folder} does not exist")
        found.update(_files_under(folder, f"datasets/{name}"))
    return found
