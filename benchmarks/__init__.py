"""Benchmarks; run them as modules (``python -m benchmarks.fast_vs_full``)."""
