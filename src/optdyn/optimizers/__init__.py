"""Update rules as pure (init, update) pairs in the optax style.

Each optimizer states its update rule in its docstring; ``lr`` is always the per-step learning
rate. See :mod:`optdyn.optimizers.base` for the protocol.
"""

from optdyn.optimizers import names, polar
from optdyn.optimizers.adam import Adam
from optdyn.optimizers.aligned import AlignedSignSGD
from optdyn.optimizers.base import Optimizer
from optdyn.optimizers.clipped import ClippedSGD, clip_by_norm
from optdyn.optimizers.dana import DANA
from optdyn.optimizers.muon import Muon, SignSVD
from optdyn.optimizers.names import resolve, resolve_key
from optdyn.optimizers.normalized import NormalizedSGD
from optdyn.optimizers.optax_adapter import OptaxOptimizer
from optdyn.optimizers.sgd import SGD
from optdyn.optimizers.sign import SignSGD

__all__ = [
    "AlignedSignSGD",
    "Optimizer",
    "SGD",
    "SignSGD",
    "ClippedSGD",
    "DANA",
    "Adam",
    "NormalizedSGD",
    "OptaxOptimizer",
    "clip_by_norm",
    "SignSVD",
    "Muon",
    "names",
    "polar",
    "resolve",
    "resolve_key",
]
