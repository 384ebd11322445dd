"""Optimizer laws of the theory engine: one file per optimizer (see :mod:`.base`)."""

from optdyn.theory.laws.base import Law, Modes
from optdyn.theory.laws.clipped import ClippedSGDLaw
from optdyn.theory.laws.sgd import SGDLaw
from optdyn.theory.laws.sign import SignSGDLaw

__all__ = ["Law", "Modes", "SGDLaw", "ClippedSGDLaw", "SignSGDLaw", "law_for"]

_LAWS: tuple[type[Law], ...] = (SGDLaw, ClippedSGDLaw, SignSGDLaw)


def law_for(optimizer: object) -> type[Law] | None:
    """The law of an optimizer instance, or None when optdyn has no theory for it."""
    for law in _LAWS:
        if type(optimizer) is law.optimizer_type:
            return law
    return None
