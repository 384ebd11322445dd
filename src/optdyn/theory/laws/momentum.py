"""SGD with heavy-ball or Nesterov momentum (torch and EMA conventions) on Gaussian least squares.

The update of :class:`~optdyn.optimizers.SGD` with momentum m, per-step rate gamma = lr(k) and
buffer weight c = 1 ("torch") or 1 - m ("ema") is a linear momentum method (:mod:`.block`):

    heavy ball:  b' = m b + c g,  theta' = theta - gamma b',
                 (a, c, p, q) = (m, c, 0, gamma);
    Nesterov:    b' = m b + c g,  theta' = theta - gamma (c g + m b'),
                 (a, c, p, q) = (m, c, gamma c, gamma m),

so the exact expected recursion for Gaussian data and its ODE are those of :mod:`.block`, with
per-mode 3 x 3 blocks (E e^2, E e b, E b^2) / 2. In high dimension (gamma lambda_j small for the
modes that carry the risk) heavy ball in the torch convention moves like SGD at rate
gamma / (1 - m) (Paquette & Paquette, "Dynamics of stochastic momentum methods on large-scale,
quadratic models", arXiv 2106.03696); the blocks keep the momentum's own time scale 1 / (1 - m)
and the finite-rate terms. Limit risk and critical rate (a function of m): :mod:`.block`.
"""

from __future__ import annotations

from typing import Any

from optdyn.optimizers import SGD
from optdyn.theory.laws.block import LinearMomentumLaw
from optdyn.theory.laws.sgd import has_momentum

__all__ = ["MomentumLaw"]


class MomentumLaw(LinearMomentumLaw):
    """SGD with momentum > 0 (heavy ball or Nesterov, torch or EMA convention)."""

    name = "momentum"
    optimizer_type = SGD
    regime = ("SGD with momentum: the exact recursion is exact in expectation for Gaussian "
              "inputs at any lr, momentum, B and d; the ODE holds where lr lambda_j / (1 - m) "
              "is small for the modes that carry the risk (high dimension)")

    @classmethod
    def covers(cls, opt: Any, problem_kind: str, method: str | None = None) -> bool:
        return super().covers(opt, problem_kind, method) and has_momentum(opt)

    @classmethod
    def coefficients(cls, k: Any, opt: Any) -> tuple[Any, Any, Any, Any]:
        m = opt.momentum
        g = opt.lr(k)
        c = 1.0 if opt.convention == "torch" else 1.0 - m
        if opt.nesterov:
            return m, c, g * c, g * m
        return m, c, 0.0 * g, g
