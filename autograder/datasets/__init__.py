"""Data sets for the Keras exercises: local sources first, a public Keras cache for the
sandbox, and held-out splits that only the judge ever reads. See docs/datasets.md."""

from autograder.datasets.heldout import (
    HeldOut,
    HeldOutMissingError,
    dataset_sources,
    exercise_datasets,
    load_heldout,
)
from autograder.datasets.locations import heldout_dir, public_data_dir
from autograder.datasets.prepare import Prepared, prepare
from autograder.datasets.sources import DatasetUnavailableError, RawDataset

__all__ = ["DatasetUnavailableError", "HeldOut", "HeldOutMissingError", "Prepared",
           "RawDataset", "dataset_sources", "exercise_datasets", "heldout_dir", "load_heldout",
           "prepare", "public_data_dir"]
