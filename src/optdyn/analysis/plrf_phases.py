"""The compute-optimal exponents of one-pass SGD on power-law random features, per phase.

Paquette, Paquette, Xiao, Pennington, "4+3 phases of compute-optimal neural scaling laws",
arXiv 2405.15074: eigenvalues j^(-2 alpha), target coefficients j^(-beta), batch 1, a constant
rate at the stability scale, compute f = d x steps. The loss at the compute-optimal model size
d* ~ f^xi falls as P* ~ f^(-eta). The formulas and their derivation from the four loss
components (F_pp, F_ac, F_0, K_pp) are in docs/theory/plrf_phases.md: Ia, II and III as
published, Ib, Ic, IVa and IVb derived there (IVa/IVb rest on the lr scale d^(2 alpha - 1) with
v proportional to d and are marked less certain). Boundaries carry log factors that are ignored.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from optdyn._core.errors import ConfigError

__all__ = ["IV_SPLIT", "PhaseExponents", "phase_exponents"]

#: alpha = 1 - 1/sqrt(2), where phase IVa meets IVb (2 beta > 1)
IV_SPLIT = 1.0 - 1.0 / math.sqrt(2.0)


class PhaseExponents(NamedTuple):
    """The phase of (alpha, beta), d* ~ f^xi, P* ~ f^(-eta), and whether the formula was
    published ("published") or derived in docs/theory/plrf_phases.md ("derived")."""

    phase: str
    xi: float
    eta: float
    source: str


def phase_exponents(alpha: float, beta: float) -> PhaseExponents:
    """The phase and the compute-optimal exponents (xi, eta) of SGD on PLRF(alpha, beta).

    | phase | region | xi | eta |
    | Ia | 2 beta < 1 < 2 alpha | 1/(2 alpha + 1) | (2 alpha + 2 beta - 1)/(2 alpha + 1) |
    | Ib | 2 beta < 1, alpha < 1/2 | 1/2 | alpha + beta - 1/2 |
    | Ic | 2 beta > 1, alpha < 1/4 | (2a+2b-1)/(2(a(3-2b)+2b-1)) | a(2a+2b-1)/(a(3-2b)+2b-1) |
    | II | 2 beta > 1, beta < alpha, 2 alpha > 1 | beta/(alpha + beta) |
    |    |   | (2 alpha + 2 beta - 1)/(2(alpha + beta)) |
    | III | beta > alpha > 1/2 | 1/2 | 1 - 1/(4 alpha) |
    | IVa | 2 beta > 1, 1/4 < alpha < 1 - 1/sqrt 2 | (b-a)/(2b(1-a)-a) |
    |     |   | (2a+2b-1)(1-2a)/(2(2b(1-a)-a)) |
    | IVb | 2 beta > 1, 1 - 1/sqrt 2 < alpha < 1/2 | 1/2 | alpha |

    (a = alpha, b = beta; the region a <= 1/4, 2b < 1 takes Ib's formulas.) Raises a
    ConfigError where the loss is infinite (2 alpha + 2 beta <= 1).
    """
    a, b = float(alpha), float(beta)
    if not (math.isfinite(a) and math.isfinite(b)) or a < 0:
        raise ConfigError("alpha", f"needs finite alpha >= 0 and beta, got {alpha!r}, {beta!r}")
    if not 2 * a + 2 * b > 1:
        raise ConfigError("beta", f"need 2 alpha + 2 beta > 1, got {a}, {b}")
    s = 2 * a + 2 * b - 1
    if 2 * b < 1:
        if 2 * a > 1:
            return PhaseExponents("Ia", 1 / (2 * a + 1), s / (2 * a + 1), "published")
        return PhaseExponents("Ib", 0.5, s / 2, "derived")
    if 2 * a > 1:
        if b < a:
            return PhaseExponents("II", b / (a + b), s / (2 * (a + b)), "published")
        return PhaseExponents("III", 0.5, 1 - 1 / (4 * a), "published")
    if a < 0.25:
        den = a * (3 - 2 * b) + 2 * b - 1
        return PhaseExponents("Ic", s / (2 * den), a * s / den, "derived")
    if a < IV_SPLIT:
        den = 2 * b * (1 - a) - a
        return PhaseExponents("IVa", (b - a) / den, s * (1 - 2 * a) / (2 * den), "derived")
    return PhaseExponents("IVb", 0.5, a, "derived")
