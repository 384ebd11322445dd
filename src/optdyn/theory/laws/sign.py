"""signSGD (any batch size B) on streaming Gaussian least squares, any label-noise law.

Xiao, Marshall, Agarwala, Paquette, "Exact risk curves of signSGD in High-Dimensions",
arXiv 2411.12135 (docs/theory/signsgd.md sections 2-4; B >= 2: section 13, derived here). With
D = diag(K), the drift is E[sign(g)] ~ c_B(R) D^(-1/2) K (theta - theta*) and the second moment
is Sheppard's arcsine law K_sigma = (2/pi) arcsin(D^(-1/2) K D^(-1/2)) for every B. In the
eigenbasis M = D^(-1/4) K D^(-1/4) = sum_j lambda_j w_j w_j^T, with
v_j = (1/2) <w_j, D^(1/4)(theta - theta*)>^2 and per-step rate gamma = lr(k):

    dv_j/dk = -2 gamma c_B(R) lambda_j v_j + (gamma^2 / 2) q_j,    R = sum_j lambda_j v_j,
    q_j = w_j^T D^(1/4) K_sigma D^(1/4) w_j,      sum_j q_j = sum_i sqrt(K_ii),
    c_1(R) = 2 sqrt(2/pi) p_{eps + sqrt(2R) Z}(0)   (the noise density at 0 smoothed by N(0, 2R)),
    c_B(R) = sqrt(2/pi) (B - 1) E[1 / |r|]        (B >= 2; r_b = sqrt(2R) Z_b - eps_b, b <= B)
           = (B - 1) / (pi sqrt 2) int_0^inf x^((B-3)/2) (R + x)^(-B/2) h(R + x)^B dx,
    h(R) = (pi/2) sqrt(2R) c_1(R)  in (0, 1].

Gaussian noise N(0, s^2): c_B = a_B / sqrt(2R + s^2), a_B = (2/sqrt(pi)) Gamma((B+1)/2) /
Gamma(B/2) (:func:`~optdyn.theory.factors.sign_batch_gain`).

The B >= 2 law is a linear response in sqrt(B/d): it needs B << d (the theory refuses
10 B > d). Diagonal K (fast path, O(d)): lambda_j = q_j = sqrt(K_jj). Limit risk at a constant
rate: the fixed point R c_B(R) = (gamma / 4) sum_i sqrt(K_ii); signSGD never diverges (bounded
diffusion).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax.numpy as jnp
import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.lazy import lazy_module
from optdyn.optimizers import SignSGD
from optdyn.theory.factors import sign_drift, sign_drift_batch
from optdyn.theory.laws._noise_scale import noise_scale2
from optdyn.theory.laws.base import (
    Law,
    Modes,
    ModesCache,
    constant_value,
    initial_error,
    mode_energy,
)
from optdyn.theory.tables import log_table, table_eval

optimize = lazy_module("scipy.optimize")

__all__ = ["SignSGDLaw", "sign_modes", "sign_table"]

_CACHE = ModesCache()


def sign_modes(problem: Any) -> Modes:
    """Eigen-decomposition of M = D^(-1/4) K D^(-1/4) and the arcsine-law noise loads."""
    e = initial_error(problem)  # rows e_j: one per eigen-direction (a matrix: m outputs)
    if problem.basis is None:
        lam = np.sqrt(problem.eigenvalues)
        return Modes(weights=lam, drift=lam, loads=lam, v0=lam * mode_energy(e))
    k = problem.K
    diag = np.diag(k).copy()
    if np.any(diag <= 0):
        raise ConfigError("covariance", "signSGD's theory needs K_ii > 0 for every coordinate "
                          f"({int(np.sum(diag <= 0))} zero variances)")
    d4 = diag**-0.25
    m = d4[:, None] * k * d4[None, :]
    lam, w = np.linalg.eigh(0.5 * (m + m.T))
    lam = np.clip(lam, 0.0, None)
    s = 1.0 / np.sqrt(diag)
    corr = np.clip(s[:, None] * k * s[None, :], -1.0, 1.0)
    # arcsin is singular at 1: a rounding error of 1e-16 on the unit diagonal would cost 1e-8
    np.fill_diagonal(corr, 1.0)
    k_sigma = (2.0 / np.pi) * np.arcsin(corr)
    dw = diag[:, None] ** 0.25 * w  # D^(1/4) W
    q = np.einsum("ij,ij->j", dw, k_sigma @ dw)
    e = problem.basis @ e  # back to the original coordinates
    proj = dw.T @ e  # W^T D^(1/4) e
    return Modes(weights=lam, drift=lam, loads=np.clip(q, 0.0, None), v0=mode_energy(proj))


@functools.lru_cache(maxsize=64)
def _table(noise: Any, batch_size: int) -> dict:
    if batch_size == 1:
        return log_table(lambda r: sign_drift(noise, r), noise_scale2(noise))
    c1 = _table(noise, 1)  # c_B from the table of c_1: no further quadrature over the noise law

    def drift(r: np.ndarray) -> np.ndarray:
        return np.asarray(table_eval(c1, jnp.asarray(r)))

    return log_table(lambda r: sign_drift_batch(noise, r, batch_size, drift=drift),
                     noise_scale2(noise))


def sign_table(noise: Any, batch_size: int = 1) -> dict:
    """The drift factor c_B(R) of a noise law (batch size B; B = 1: c(R)) as a
    :func:`~optdyn.theory.tables.log_table`."""
    return _table(noise, int(batch_size))


_REGIME = ("signSGD with batch B >= 2 (docs/theory/signsgd.md section 13): linear response of "
           "the sign of the mean gradient, relative corrections O(B/d) (B << d, checked to "
           "3% at d = 1000, B <= 16); the arcsine-law second moment of B = 1 is kept")


class SignSGDLaw(Law):
    """signSGD with B samples per step (sign of the mean gradient); see the module docstring."""

    name = "sign_sgd"
    optimizer_type = SignSGD

    @classmethod
    def factors(cls, r, p):
        return table_eval(p["c"], r), 1.0

    @classmethod
    def check(cls, problem: Any, opt: Any, where: str) -> None:
        b = opt.batch_size
        if b > 1 and 10 * b > problem.d:
            raise ConfigError(f"{where}.batch_size", f"the signSGD theory with a batch "
                              f"(docs/theory/signsgd.md section 13) is a linear response in "
                              f"sqrt(B/d) and needs B << d (10 B <= d); got batch_size={b}, "
                              f"d={problem.d}")

    @classmethod
    def regime_for(cls, opt: Any, options: dict[str, Any]) -> dict[str, str]:
        return {cls.name: _REGIME} if opt.batch_size > 1 else {}

    @classmethod
    def modes(cls, problem: Any) -> Modes:
        return _CACHE.get(problem, sign_modes)

    @classmethod
    def params(cls, problem: Any, opt: Any) -> dict[str, Any]:
        return {"opt": opt, "c": sign_table(problem.noise, opt.batch_size)}

    @classmethod
    def limit_risk(cls, problem: Any, opt: Any) -> float:
        g = constant_value(opt.lr)
        if g is None:
            return math.nan
        if g == 0:
            return math.nan
        diag = problem.eigenvalues if problem.basis is None else np.einsum(
            "ij,j,ij->i", problem.basis, problem.eigenvalues, problem.basis)  # K_ii, no dense K
        target = 0.25 * g * float(np.sum(np.sqrt(diag)))
        if opt.batch_size == 1:
            def drift(r: float) -> float:
                return float(sign_drift(problem.noise, np.asarray([r]))[0])
        else:  # R c_B(R) = target on the table of c_B (relative accuracy ~1e-7)
            table = sign_table(problem.noise, opt.batch_size)

            def drift(r: float) -> float:
                return float(table_eval(table, jnp.asarray([r]))[0])

        def f(u: float) -> float:
            r = math.exp(u)
            return math.log(r * max(drift(r), 1e-300)) - math.log(target)

        lo = math.log(noise_scale2(problem.noise)) - 80.0
        return math.exp(optimize.brentq(f, lo, lo + 160.0, xtol=1e-12))
