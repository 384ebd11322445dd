"""Laws of the theory engine: one file per optimizer or policy (see :mod:`.base`)."""

from typing import Any

from optdyn.theory.laws.adam import AdamLaw
from optdyn.theory.laws.base import Law, Modes, problem_kind
from optdyn.theory.laws.clip_policy import ClippingPolicy, ClipPolicyLaw
from optdyn.theory.laws.clipped import ClippedSGDLaw
from optdyn.theory.laws.dana import DANALaw
from optdyn.theory.laws.matrix import MatrixSignSGDLaw, SignSVDLaw
from optdyn.theory.laws.mean_field import MeanFieldLaw
from optdyn.theory.laws.momentum import MomentumLaw
from optdyn.theory.laws.sgd import SGDLaw
from optdyn.theory.laws.sign import SignSGDLaw
from optdyn.theory.laws.sign_rate import ConstantEffectiveRate, ConstantEffectiveRateLaw

__all__ = ["Law", "Modes", "SGDLaw", "ClippedSGDLaw", "SignSGDLaw", "MatrixSignSGDLaw",
           "SignSVDLaw", "MeanFieldLaw", "AdamLaw", "ClipPolicyLaw", "ClippingPolicy",
           "ConstantEffectiveRateLaw", "ConstantEffectiveRate", "MomentumLaw", "DANALaw", "LAWS",
           "law_for"]

LAWS: tuple[type[Law], ...] = (SGDLaw, MomentumLaw, DANALaw, ClippedSGDLaw, SignSGDLaw,
                                MatrixSignSGDLaw, SignSVDLaw, MeanFieldLaw, AdamLaw, ClipPolicyLaw,
                                ConstantEffectiveRateLaw)


def law_for(optimizer: object, problem: Any = None, method: str | None = None
            ) -> type[Law] | None:
    """The law of an optimizer (or policy) instance on a problem (None: a vector problem) for a
    method (None: any method), or None when optdyn has no theory for that pair."""
    kind = problem_kind(problem)
    for law in LAWS:
        if law.covers(optimizer, kind, method):
            return law
    return None
