"""DANA (dimension-adapted Nesterov acceleration) on Gaussian least squares.

Ferbach, Everett, Gidel, Paquette and Paquette, "Dimension-adapted Momentum Outscales SGD"
(2025). The update of :class:`~optdyn.optimizers.DANA`,

    y' = (1 - Delta(k)) y + gamma_1(k) g,      theta' = theta - gamma_2(k) g - gamma_3(k) y',

is a linear momentum method (:mod:`.block`) with (a, c, p, q) = (1 - Delta, gamma_1, gamma_2,
gamma_3), so its exact expected recursion for Gaussian data and its ODE are the per-mode
3 x 3 block systems of :mod:`.block` (the paper's ODE has the same blocks with its small terms
dropped). With the damping Delta(k) = delta / (1 + k) the coefficients never settle: there is
no limit risk (NaN); a DANA with constant schedules has the limits of :mod:`.block`.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from optdyn.optimizers.dana import DANA
from optdyn.theory.laws.block import LinearMomentumLaw

__all__ = ["DANALaw"]


class DANALaw(LinearMomentumLaw):
    """DANA (constant and decaying forms)."""

    name = "dana"
    optimizer_type = DANA
    regime = ("DANA: the exact recursion is exact in expectation for Gaussian inputs at any "
              "rates and d; the ODE holds where the per-step changes of the modes that carry "
              "the risk are small (high dimension)")

    @classmethod
    def coefficients(cls, k: Any, opt: Any) -> tuple[Any, Any, Any, Any]:
        damp = jnp.clip(opt.damping(k), 0.0, 1.0)
        return 1.0 - damp, opt.grad_weight(k), opt.lr(k), opt.lr_momentum(k)
