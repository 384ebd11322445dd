"""Warnings for settings that run but are probably not what was meant.

A :class:`TrapWarning` says, with the number, that a problem has zero initial risk, that a
learning rate is above the critical rate of its theory, or that a horizon ends before the risk
has left its transient. Grid searches that try such settings on purpose silence them
(:func:`quiet_traps`).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

__all__ = ["TrapWarning", "warn_trap", "quiet_traps"]


class TrapWarning(UserWarning):
    """A setting that runs but is probably not what was meant; the message gives the number."""


def warn_trap(message: str, stacklevel: int = 2) -> None:
    """Warn ``message`` as a :class:`TrapWarning` at the caller's ``stacklevel``."""
    warnings.warn(TrapWarning(message), stacklevel=stacklevel + 1)


@contextlib.contextmanager
def quiet_traps() -> Iterator[None]:
    """Silence :class:`TrapWarning` inside the block (a grid that tries bad settings on purpose:
    learning-rate searches, sweeps, phase maps, which report divergence in their results)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrapWarning)
        yield
