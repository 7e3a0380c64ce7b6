"""The warm sandbox's zygote learns what a kernel imports while it starts, so forked
kernels do not import it each time (debugpy alone was 0.1 s of every warm grade)."""

from __future__ import annotations

import sys

from autograder.runner import zygote


def test_a_throwaway_kernel_lists_its_start_up_imports() -> None:
    names = zygote._kernel_start_imports()
    assert names, "the throwaway kernel reported nothing"
    assert names == sorted(names)
    assert any(name.startswith("ipykernel") for name in names)
    assert not [name for name in names if not all(p.isidentifier() for p in name.split("."))]


def test_the_listed_modules_import_without_starting_threads() -> None:
    import threading

    before = threading.active_count()
    zygote._import_all(zygote._kernel_start_imports())
    # A thread alive in the zygote would be copied into no forked child but could hold
    # a lock one needs; importing what a kernel imports must not start one.
    assert threading.active_count() == before
    assert "ipykernel.debugger" in sys.modules
