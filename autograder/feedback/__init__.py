"""Feedback pages for students: scores, what to fix, and plots built from plain data."""
