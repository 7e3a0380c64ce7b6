"""``python -m autograder.judge.models.fresh FD``: one model child in a new interpreter
(see :mod:`.child`); the judge's default forks children from a warm process instead."""

from autograder.judge.models.child import main

if __name__ == "__main__":
    main()
