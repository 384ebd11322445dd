"""Optimizer laws of the theory engine: one file per optimizer (see :mod:`.base`)."""

from typing import Any

from optdyn.theory.laws.base import Law, Modes, is_matrix
from optdyn.theory.laws.clipped import ClippedSGDLaw
from optdyn.theory.laws.matrix import MatrixSignSGDLaw, SignSVDLaw
from optdyn.theory.laws.sgd import SGDLaw
from optdyn.theory.laws.sign import SignSGDLaw

__all__ = ["Law", "Modes", "SGDLaw", "ClippedSGDLaw", "SignSGDLaw", "MatrixSignSGDLaw",
           "SignSVDLaw", "law_for"]

_LAWS: tuple[type[Law], ...] = (SGDLaw, ClippedSGDLaw, SignSGDLaw, MatrixSignSGDLaw, SignSVDLaw)


def law_for(optimizer: object, problem: Any = None) -> type[Law] | None:
    """The law of an optimizer instance on a problem (None: a vector problem), or None when
    optdyn has no theory for that pair."""
    kind = "matrix" if problem is not None and is_matrix(problem) else "vector"
    for law in _LAWS:
        if type(optimizer) is law.optimizer_type and kind in law.problem_kinds:
            return law
    return None
