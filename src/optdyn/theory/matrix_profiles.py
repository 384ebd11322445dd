"""Drift and noise profiles of the sign methods on matrix least squares (docs/theory/muon.md
section 2.3-2.5).

Paquette, Marshall, Benigni, Wang, Agarwala, Paquette, "Phases of Muon: When Muon Eclipses
SignSGD", arXiv 2605.09552. The paper's body was not available: every formula here is a
derivation in docs/theory/muon.md (tagged [D] or [D+N] there) and is tested against Monte Carlo in
``tests/test_theory_laws_matrix.py``. In their noise-dominated regime both sign methods follow the
normalised-SGD template (docs/theory/muon.md eq. (T))

    rho_j <- rho_j - 2 lr g_j rho_j / sqrt(2R) + lr^2 n_j,   2R = sum_j lambda_j rho_j + m sigma^2,

with one drift profile g and one noise profile n per method:

* SignSVD (U V^T of G = (1/B) X^T E): g_j = f_B(lambda_j), the eigenvalues of E[(X^T X)^(1/2)],
  and n_j = lambda_j / (lambda_j + kappa_0(B)), the diagonal of E[projector onto range(X^T)],
  where the batch ridge kappa_0 solves sum_j lambda_j / (lambda_j + kappa_0) = B (0 if B >= rank).
* SignSGD (entrywise sign): E sign(G) ~ a_B D^(-1/2) K Delta C_d^(-1/2) with D = diag(K),
  a_B = sqrt(2/pi) E[chi_B] = (2/sqrt(pi)) Gamma((B+1)/2) / Gamma(B/2), so
  g_j = a_B sqrt(m) (Q^T D^(-1/2) Q)_jj lambda_j, and n_j = m (Q^T K_sigma Q)_jj with
  K_sigma = (2/pi) arcsin(D^(-1/2) K D^(-1/2)) (Xiao et al., arXiv 2411.12135).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from optdyn._core.errors import ConfigError
from optdyn._core.lazy import lazy_module

optimize = lazy_module("scipy.optimize")
special = lazy_module("scipy.special")

__all__ = ["a_B", "degrees_of_freedom", "kappa0", "f_B", "projector_loads", "k_sigma",
           "signsvd_profile", "signsgd_profile", "power_law_kappa0"]

FloatArray = npt.NDArray[np.float64]


def _check_batch(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or (
            batch_size < 1):
        raise ConfigError("batch_size", f"must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def _check_eig(eigenvalues: npt.ArrayLike) -> FloatArray:
    lam = np.asarray(eigenvalues, dtype=float)
    if lam.ndim != 1 or lam.size == 0 or not np.all(np.isfinite(lam)) or np.any(lam < 0):
        raise ConfigError("eigenvalues", "expected a non-empty 1-D array of finite values >= 0")
    return lam


def a_B(batch_size: int) -> float:
    """a_B = sqrt(2/pi) E[chi_B] = (2/sqrt(pi)) Gamma((B+1)/2) / Gamma(B/2).

    The slope of E sign(sum of B residual-weighted samples) in the correlation (docs/theory/muon.md
    section 2.3 [D]):
    a_1 = 2/pi, a_2 = 1, a_B -> sqrt(2B/pi).
    """
    b = _check_batch(batch_size)
    return float(2.0 / math.sqrt(math.pi)
                 * math.exp(special.gammaln((b + 1) / 2) - special.gammaln(b / 2)))


def degrees_of_freedom(eigenvalues: npt.ArrayLike, kappa: npt.ArrayLike) -> FloatArray:
    """df(kappa) = sum_j lambda_j / (lambda_j + kappa) (the effective dimension at ridge kappa)."""
    lam = _check_eig(eigenvalues)
    k = np.asarray(kappa, dtype=float)
    return np.sum(lam / (lam + k[..., None]), axis=-1)


def kappa0(eigenvalues: npt.ArrayLike, batch_size: int) -> float:
    """The batch ridge kappa_0(B): df(kappa_0) = B when B < rank(K), else 0 (docs/theory/muon.md
    section 2.4)."""
    lam = _check_eig(eigenvalues)
    b = _check_batch(batch_size)
    rank = int(np.count_nonzero(lam > 0))
    if b >= rank:
        return 0.0
    top = float(lam.max())
    lo, hi = math.log(top * 1e-300 + 1e-300), math.log(top * lam.size / b + top)
    lo = max(lo, math.log(top) - 700.0)
    return float(math.exp(optimize.brentq(lambda u: float(degrees_of_freedom(lam, math.exp(u))) - b,
                                 lo, hi, xtol=1e-14, rtol=1e-13)))


def power_law_kappa0(alpha: float, batch_size: int) -> float:
    """Large-d asymptote of kappa_0(B) for lambda_j = j^(-2 alpha), 2 alpha > 1:
    kappa_0 ~ (C_alpha / (B + 1/2))^(2 alpha), C_alpha = (pi / (2 alpha)) / sin(pi / (2 alpha)).

    From df(kappa) = sum_{j >= 1} 1 / (1 + kappa j^(2 alpha)) = C_alpha kappa^(-1/(2 alpha)) - 1/2
    + o(1) (the integral over j > 0 minus the Euler-Maclaurin end term). The leading order of
    docs/theory/muon.md section 2.4, (C_alpha / B)^(2 alpha), omits the 1/2; it is 27% high at
    alpha = 1, B = 4, where this form is within 0.1% of the solved kappa_0
    (tests/test_theory_laws_matrix.py).
    """
    if not alpha > 0.5:
        raise ConfigError("alpha", f"needs 2 alpha > 1 (trace class), got alpha={alpha!r}")
    c = (math.pi / (2 * alpha)) / math.sin(math.pi / (2 * alpha))
    return (c / (_check_batch(batch_size) + 0.5)) ** (2 * alpha)


def f_B(eigenvalues: npt.ArrayLike, batch_size: int, *, points: int = 4000) -> FloatArray:
    """f_B(lambda_j): eigenvalues of the deterministic equivalent of E[(X^T X)^(1/2)].

    X is B x d with rows N(0, K). From sqrt(a) = (1/pi) int_0^inf a / (a + s) s^(-1/2) ds and the
    Marchenko-Pastur equivalent s (X^T X + s)^(-1) ~ kappa (K + kappa)^(-1), where kappa(s)
    solves s / B = kappa (1 - df(kappa) / B) (docs/theory/muon.md section 2.4 [D+N]):

        f_B(lambda) = (2 sqrt(B) / pi) int_{kappa_0}^inf lambda / (lambda + kappa) du(kappa),
        u(kappa) = sqrt(kappa (1 - df(kappa) / B)),

    by the trapezoid rule in u on a log grid of kappa, plus the tail (2 sqrt(B)/pi) lambda / u_max.
    Limits: sqrt(B lambda) for lambda >> kappa_0 (square-root preconditioning), proportional to
    lambda for lambda << kappa_0 (SGD-like small modes).
    """
    lam = _check_eig(eigenvalues)
    b = _check_batch(batch_size)
    k0 = kappa0(lam, b)
    top = max(float(lam.max()), k0)
    start = k0 if k0 > 0 else top * 1e-14
    kap = start * np.geomspace(1.0, 1e7 * top / start, points)
    u = np.sqrt(np.maximum(kap * (1.0 - degrees_of_freedom(lam, kap) / b), 0.0))
    if k0 > 0:
        u[0] = 0.0
    else:  # B >= rank: u(kappa) ~ sqrt(kappa (1 - rank/B)) from kappa = 0
        kap = np.concatenate([[0.0], kap])
        u = np.concatenate([[0.0], u])
    du = np.diff(u)
    ratio = lam[:, None] / (lam[:, None] + kap[None, :])
    integral = 0.5 * ((ratio[:, 1:] + ratio[:, :-1]) * du[None, :]).sum(axis=1)
    return (2.0 * math.sqrt(b) / math.pi) * (integral + lam / u[-1])


def projector_loads(eigenvalues: npt.ArrayLike, batch_size: int) -> FloatArray:
    """n_j = lambda_j / (lambda_j + kappa_0(B)): the diagonal of E[Pi_X] in K's eigenbasis, whose
    sum is min(B, rank K) = ||polar(G)||_F^2 (docs/theory/muon.md section 2.4 [D+N])."""
    lam = _check_eig(eigenvalues)
    k0 = kappa0(lam, batch_size)
    return np.where(lam > 0, lam / np.where(lam + k0 > 0, lam + k0, 1.0), 0.0)


def k_sigma(covariance: npt.ArrayLike) -> FloatArray:
    """K_sigma = (2/pi) arcsin(D^(-1/2) K D^(-1/2)), D = diag(K): the correlation matrix of the
    signs of a Gaussian vector with covariance K (arcsine law; noise reshaping of arXiv
    2411.12135)."""
    k = np.asarray(covariance, dtype=float)
    dg = np.sqrt(np.clip(np.diag(k), 1e-300, None))
    corr = np.clip(k / dg[:, None] / dg[None, :], -1.0, 1.0)
    np.fill_diagonal(corr, 1.0)  # arcsin is singular at 1: no rounding error on the diagonal
    return (2.0 / math.pi) * np.arcsin(corr)


def _basis_diag(problem: Any, mat: FloatArray) -> FloatArray:
    """(Q^T M Q)_jj for a symmetric M given in the original coordinates."""
    q = problem.basis
    if q is None:
        return np.diag(mat).copy()
    return np.einsum("ij,ik,kj->j", q, mat, q)


def _covariance(problem: Any) -> FloatArray:
    lam = problem.eigenvalues
    q = problem.basis
    return np.diag(lam) if q is None else (q * lam) @ q.T


def signsvd_profile(problem: Any, batch_size: int) -> tuple[FloatArray, FloatArray]:
    """(g, n) = (f_B(lambda), lambda / (lambda + kappa_0)) of stochastic SignSVD
    (docs/theory/muon.md section 2.4)."""
    lam = problem.eigenvalues
    return f_B(lam, batch_size), projector_loads(lam, batch_size)


def signsgd_profile(problem: Any, batch_size: int) -> tuple[FloatArray, FloatArray]:
    """(g, n) of SignSGD in linear response (docs/theory/muon.md section 2.3 [D]):

    g_j = a_B sqrt(m) (Q^T D^(-1/2) Q)_jj lambda_j,   n_j = m (Q^T K_sigma Q)_jj.

    For a generic (Haar) basis D ~ (tr K / d) I: g is proportional to lambda (no preconditioning)
    and B enters only through a_B (no batch transition); for a diagonal K, g_j = a_B sqrt(m
    lambda_j) and n_j = m.
    """
    cov = _covariance(problem)
    dg = np.clip(np.diag(cov), 1e-300, None)
    g = a_B(batch_size) * math.sqrt(problem.m) * _basis_diag(problem, np.diag(dg ** -0.5))
    return g * problem.eigenvalues, problem.m * _basis_diag(problem, k_sigma(cov))
