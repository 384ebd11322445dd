"""Clipped SGD (per-sample clipping) on streaming Gaussian least squares.

Deterministic equivalent of C-SGD (Marshall, Xiao, Agarwala, Paquette, "To Clip or not to Clip",
arXiv 2406.11733, the ODE of C-HSGD), in per-step time with per-step rate gamma = lr(k) and the
mean of B per-sample clipped gradients:

    dv_j/dk = -2 gamma mu(R) lambda_j v_j + (gamma^2 / (2B)) lambda_j nu_bar(R),

with the residual r = sqrt(2R) Z - eps and the residual threshold c = threshold / sqrt(Tr K)
(||x||^2 concentrates at Tr K, so clipping the gradient r x at norm ``threshold`` clamps r to
[-c, c]):

    mu(R) = P(|r| <= c)              (descent reduction factor, Stein's lemma)
    nu_bar(R) = E[min(r^2, c^2)]     (UNNORMALISED variance factor; nu = nu_bar / (2R + E eps^2)
                                      is the normalised one, which needs a finite variance).

Unclipped SGD is mu = 1, nu_bar = 2R + sigma^2. Both factors are tabulated in R once per (noise
law, c) (closed forms or adaptive quadrature, :mod:`optdyn.theory.factors`). Limit risk at a
constant rate: the fixed point R = gamma Tr K nu_bar(R) / (4 B mu(R)); with a fixed threshold
nu_bar <= c^2, so the risk never diverges.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.lazy import lazy_module
from optdyn.optimizers import ClippedSGD
from optdyn.theory.factors import clip_factors
from optdyn.theory.laws._noise_scale import noise_scale2
from optdyn.theory.laws.base import Law, Modes, constant_value
from optdyn.theory.laws.sgd import SGDLaw
from optdyn.theory.tables import log_table, table_eval

optimize = lazy_module("scipy.optimize")

__all__ = ["ClippedSGDLaw", "residual_threshold"]


def residual_threshold(problem: Any, opt: Any) -> float:
    """The residual threshold c = threshold / sqrt(Tr K) of a constant gradient-norm threshold."""
    return float(constant_value(opt.threshold)) / math.sqrt(problem.trace)


@functools.lru_cache(maxsize=128)
def _tables(noise: Any, c: float) -> tuple[dict, dict]:
    r_ref = max(c * c, 1e-300)
    both: dict[str, Any] = {}

    def factor(i: int):
        def fn(r: np.ndarray) -> np.ndarray:
            if "r" not in both or not np.array_equal(both["r"], r):  # one quadrature per grid
                both["r"], both["f"] = r, clip_factors(noise, r, c)
            return both["f"][i]
        return fn

    return log_table(factor(0), r_ref), log_table(factor(1), r_ref)


class ClippedSGDLaw(Law):
    """Per-sample clipped SGD with a constant threshold; see the module docstring."""

    name = "clipped_sgd"
    optimizer_type = ClippedSGD

    @classmethod
    def factors(cls, r, p):
        return table_eval(p["mu"], r), table_eval(p["nubar"], r) / p["opt"].batch_size

    @classmethod
    def check(cls, problem: Any, opt: Any, where: str) -> None:
        if constant_value(opt.threshold) is None:
            raise ConfigError(f"{where}.threshold", "the clipped-SGD theory engine takes a "
                              "constant threshold (time-varying thresholds are not tabulated)")
        if opt.mode == "per_batch" and opt.batch_size > 1:
            raise ConfigError(f"{where}.mode", "the theory clips each sample's gradient "
                              "(mode='per_sample'); per-batch clipping of B > 1 is another "
                              "process")
        if constant_value(opt.threshold) <= 0:
            raise ConfigError(f"{where}.threshold", "must be > 0")

    @classmethod
    def modes(cls, problem: Any) -> Modes:
        return SGDLaw.modes(problem)

    @classmethod
    def params(cls, problem: Any, opt: Any) -> dict[str, Any]:
        mu, nubar = _tables(problem.noise, residual_threshold(problem, opt))
        return {"opt": opt, "mu": mu, "nubar": nubar}

    @classmethod
    def limit_risk(cls, problem: Any, opt: Any) -> float:
        g = constant_value(opt.lr)
        if g is None:
            return math.nan
        c = residual_threshold(problem, opt)
        scale = g * problem.trace / (4.0 * opt.batch_size)
        if scale == 0:
            return math.nan

        def f(u: float) -> float:
            mu, nubar = clip_factors(problem.noise, np.asarray([math.exp(u)]), c)
            return u - math.log(scale) - math.log(max(nubar[0], 1e-300)) + math.log(
                max(mu[0], 1e-300))

        lo = math.log(max(c * c, noise_scale2(problem.noise), 1e-300)) - 80.0
        hi = lo + 160.0
        if f(lo) > 0:
            return 0.0  # noiseless and stable: the risk decays to 0
        if f(hi) < 0:
            return math.inf
        return math.exp(optimize.brentq(f, lo, hi, xtol=1e-12))
