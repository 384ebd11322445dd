"""Deterministic high-dimensional dynamics: risk curves from the problem and the optimizer.

``optdyn.theory.run(problem, optimizer, steps)`` returns the theory curve on the coordinates of
``optdyn.simulate.run``. The laws (SGD, clipped SGD, signSGD) live in :mod:`.laws`, the one
integrator in :mod:`.integrator`, the scalar factors in :mod:`.factors`, limit risks and critical
rates in :mod:`.limits`.
"""

from optdyn.theory.engine import METHODS, run, run_available
from optdyn.theory.limits import critical_lr, limit_risk

__all__ = ["run", "run_available", "METHODS", "limit_risk", "critical_lr"]
