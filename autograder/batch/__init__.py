"""Grading a whole class at once: discovery, Dask execution, cache, durable results."""

from autograder.batch.run import BatchLockedError, BatchReport, BatchSettings, run_batch

__all__ = ["BatchLockedError", "BatchReport", "BatchSettings", "run_batch"]
