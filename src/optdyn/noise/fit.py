"""Fitting a label-noise law to observed residuals (for data sets used as populations).

The clipping paper models the least-squares residual of real data as a Gaussian (CIFAR10) or a
3-component Gaussian mixture (Wikitext2) to evaluate the reduction factors mu and nu (Marshall,
Xiao, Agarwala, Paquette, arXiv 2406.11733, appendix on real data). Here: the Gaussian with the
residuals' root mean square, and a maximum-likelihood mixture by expectation-maximisation.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from optdyn._core.errors import ConfigError
from optdyn.noise import Gaussian, GaussianMixture

__all__ = ["fit_gaussian", "fit_gaussian_mixture"]


def _residuals(x: npt.ArrayLike) -> np.ndarray:
    r = np.asarray(x, dtype=float).reshape(-1)
    if r.size < 2 or not np.all(np.isfinite(r)):
        raise ConfigError("residuals", "need at least 2 finite values")
    return r


def fit_gaussian(x: npt.ArrayLike) -> Gaussian:
    """N(0, s^2) with s^2 = mean(x^2): the zero-mean Gaussian with the residuals' second moment
    (least-squares residuals of centred data have mean 0)."""
    r = _residuals(x)
    return Gaussian(float(math.sqrt(np.mean(r * r))))


def fit_gaussian_mixture(x: npt.ArrayLike, n_components: int = 3, *, seed: int = 0,
                         max_iter: int = 2000, tol: float = 1e-10, restarts: int = 5
                         ) -> GaussianMixture:
    """Maximum-likelihood mixture sum_k w_k N(m_k, s_k^2) by EM (Dempster, Laird, Rubin 1977).

    E-step: responsibilities g_ik = w_k phi_k(x_i) / sum_j w_j phi_j(x_i) (in log space);
    M-step: w_k = mean_i g_ik, m_k = sum_i g_ik x_i / sum_i g_ik, s_k^2 = the weighted variance
    (floored at 1e-6 of the sample variance so that no component collapses on a point). The best
    of ``restarts`` runs (initial means at random data points) is returned.
    """
    r = _residuals(x)
    if isinstance(n_components, bool) or not isinstance(n_components, int) or n_components < 1:
        raise ConfigError("n_components", f"must be a positive integer, got {n_components!r}")
    if n_components > r.size:
        raise ConfigError("n_components", f"{n_components} components for {r.size} points")
    var = float(np.var(r))
    floor = 1e-6 * max(var, 1e-300)
    rng = np.random.default_rng(seed)
    best, best_ll = None, -math.inf
    for _ in range(restarts):
        m = rng.choice(r, n_components, replace=False)
        s2 = np.full(n_components, var)
        w = np.full(n_components, 1.0 / n_components)
        ll_old = -math.inf
        for _ in range(max_iter):
            logp = (np.log(w) - 0.5 * np.log(2 * math.pi * s2)
                    - 0.5 * (r[:, None] - m) ** 2 / s2)
            top = logp.max(axis=1, keepdims=True)
            norm = top[:, 0] + np.log(np.exp(logp - top).sum(axis=1))
            ll = float(norm.mean())
            g = np.exp(logp - norm[:, None])
            nk = g.sum(axis=0) + 1e-300
            w = nk / r.size
            m = (g * r[:, None]).sum(axis=0) / nk
            s2 = np.maximum((g * (r[:, None] - m) ** 2).sum(axis=0) / nk, floor)
            if ll - ll_old < tol * max(1.0, abs(ll)):
                break
            ll_old = ll
        if ll > best_ll:
            best_ll, best = ll, (w, m, s2)
    assert best is not None
    w, m, s2 = best
    order = np.argsort(m)
    w = w[order] / w.sum()
    return GaussianMixture(tuple(w.tolist()), tuple(m[order].tolist()),
                           tuple(np.sqrt(s2[order]).tolist()))
