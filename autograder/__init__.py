"""Secure autograder for machine-learning workshop notebooks."""

__version__ = "0.1.0"
