"""Which loss a saved model was compiled with, read as plain data.

The judge loads models with ``compile=False``, so the compile configuration is never
deserialised or allow-listed: a ``.keras`` file's ``compile_config`` (``{}`` when the model
was never compiled) and a ``.h5`` file's ``training_config`` attribute (absent when never
compiled) are only read, here, to tell which loss the student chose. A loss may be written
as a name (``"mse"``), a built-in function (``keras.losses.mean_squared_error``) or a class
(``keras.losses.SparseCategoricalCrossentropy(from_logits=True)``); all give one
canonical name.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograder.judge.architecture import canonical_name, compiled_loss
from autograder.judge.framework import Fail
from autograder.judge.models.description import ModelDescription

# One reader of compile settings for the whole judge: judge/architecture.py's.
canonical_loss_name = canonical_name


@dataclass(frozen=True)
class CompiledLoss:
    """``compiled`` is False when the file records no compilation; ``name`` is the
    canonical snake_case name of the loss (None when there is none or several)."""

    compiled: bool
    name: str | None = None
    from_logits: bool = False

    def describe(self) -> str:
        if not self.compiled:
            return "not compiled"
        return repr(self.name) if self.name else "no single loss"


def compiled_loss_of(description: ModelDescription) -> CompiledLoss:
    """The loss recorded in ``description`` (see the module docstring)."""
    config = description.compile_config
    if not isinstance(config, dict) or not config or config.get("loss") is None:
        return CompiledLoss(False)
    found = compiled_loss(config)
    if found is None:  # several losses, or something unreadable
        return CompiledLoss(True, None)
    return CompiledLoss(True, found.name, from_logits=found.from_logits)


def expect_loss(description: ModelDescription, expected: str, why: str) -> CompiledLoss:
    """Fail unless the model was compiled with the built-in loss ``expected`` (any
    spelling); ``why`` finishes the message, e.g. "integer labels 0–9 call for it"."""
    loss = compiled_loss_of(description)
    wanted = canonical_loss_name(expected)
    if not loss.compiled:
        raise Fail(f"{description.file_name} was saved without being compiled, so it records "
                   f"no loss; compile it with loss='{wanted}' before training ({why}).")
    if loss.name != wanted:
        raise Fail(f"{description.file_name} was compiled with {loss.describe()}; {why}: "
                   f"compile with loss='{wanted}'.")
    return loss
