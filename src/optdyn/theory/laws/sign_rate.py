"""signSGD with a risk-driven rate that holds its effective rate constant: a law keyed on a policy.

Xiao, Marshall, Agarwala, Paquette, arXiv 2411.12135 (derivation in ``docs/theory/signsgd.md``
sections 4 and 6). signSGD's drift carries the factor c(R); the rate gamma(R) = lr c(R_0) / c(R)
keeps the effective rate e = gamma c(R) at its initial value lr c(R_0) (for Gaussian noise gamma
grows like sqrt(2R + s^2)). On signSGD's modes the ODE is

    dv_j/dk = -2 e lambda_j v_j + (e^2 / (2 c(R)^2)) q_j,

i.e. alpha = 2e and beta = e^2 / (2 c(R)^2) in the driver's form. The limit risk at this
risk-driven rate solves R c(R)^2 = (e / 4) sum_j q_j (stationary modes v_j = e q_j / (4 c^2
lambda_j)); where R c(R)^2 stays below the right side (for Gaussian noise R c^2 < 2 / pi^2) there
is no fixed point and the risk grows without bound.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.lazy import lazy_module
from optdyn._core.pytree import concrete, pytree_dataclass, static
from optdyn.problems.linear_regression import LinearRegression
from optdyn.theory.factors import sign_drift
from optdyn.theory.laws._noise_scale import noise_scale2
from optdyn.theory.laws.base import Law, Modes
from optdyn.theory.laws.sign import SignSGDLaw, sign_table
from optdyn.theory.tables import table_eval

optimize = lazy_module("scipy.optimize")

__all__ = ["ConstantEffectiveRate", "ConstantEffectiveRateLaw", "effective_rate"]


@pytree_dataclass
@dataclasses.dataclass(frozen=True)
class ConstantEffectiveRate:
    """signSGD (one sample per step) at the risk-driven rate gamma(R) = lr c(R_0) / c(R):
    ``lr`` is the initial rate gamma(R_0)."""

    lr: Any
    batch_size: int = static(default=1)
    name = "sign_sgd_constant_effective_rate"

    def __post_init__(self) -> None:
        if concrete(self.lr) and not (math.isfinite(float(self.lr)) and float(self.lr) > 0):
            raise ConfigError("lr", f"must be a positive number, got {self.lr!r}")
        if self.batch_size != 1:
            raise ConfigError("batch_size", "signSGD's theory is stated for one sample per step")

    def to_config(self) -> dict[str, Any]:
        return {"optimizer": self.name, "lr": float(np.asarray(self.lr)),
                "batch_size": self.batch_size}

    def label(self) -> str:
        """``signSGD, constant effective rate (lr0=...)``."""
        return f"signSGD, constant effective rate (lr0={float(np.asarray(self.lr)):.4g})"


def effective_rate(problem: Any, opt: ConstantEffectiveRate) -> float:
    """e = lr c(R_0), the effective rate the policy holds."""
    return float(opt.lr) * float(sign_drift(problem.noise, float(problem.initial_risk)))


class ConstantEffectiveRateLaw(Law):
    """signSGD's ODE under the constant-effective-rate policy (see the module docstring)."""

    name = "sign_sgd_constant_effective_rate"
    optimizer_type = ConstantEffectiveRate
    regime = ("signSGD ODE of arXiv 2411.12135 (high dimension, Gaussian data, one sample per "
              "step) at the risk-driven rate gamma(R) = lr c(R_0) / c(R)")

    @classmethod
    def factors(cls, r, p):
        # gamma(R) = e / c(R): drift 2 e, diffusion (e / c)^2 / 2; 1/c is formed first so that
        # neither c^2 nor its derivative overflows as R -> 0 (c ~ R^(-1/2) without noise)
        inv = 1.0 / table_eval(p["c"], r)
        return 1.0, inv * inv

    @classmethod
    def check(cls, problem: Any, opt: Any, where: str) -> None:
        if not isinstance(problem, LinearRegression):
            raise ConfigError("problem", "expected an optdyn.problems.LinearRegression")

    @classmethod
    def modes(cls, problem: Any) -> Modes:
        return SignSGDLaw.modes(problem)

    @classmethod
    def params(cls, problem: Any, opt: Any) -> dict[str, Any]:
        # the effective rate e, constant by construction, is the rate the integrator sees
        return {"lr": np.float64(effective_rate(problem, opt)),
                "c": sign_table(problem.noise)}

    @classmethod
    def limit_risk(cls, problem: Any, opt: Any) -> float:
        e = effective_rate(problem, opt)
        target = 0.25 * e * float(np.sum(cls.modes(problem).loads))

        def f(u: float) -> float:
            r = math.exp(u)
            c = max(float(sign_drift(problem.noise, np.asarray([r]))[0]), 1e-300)
            return math.log(r * c * c) - math.log(target)

        lo = math.log(noise_scale2(problem.noise)) - 80.0
        hi = lo + 160.0
        if f(lo) > 0:
            return 0.0
        if f(hi) < 0:  # R c(R)^2 is bounded (Gaussian: by 2 / pi^2): no fixed point, R grows
            return math.inf
        return math.exp(optimize.brentq(f, lo, hi, xtol=1e-12))
