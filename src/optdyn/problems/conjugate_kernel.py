"""The link to the dynamics: regression problems whose covariance is a conjugate-kernel spectrum.

Least squares on random features F = f(W X / sqrt(n0))^T (m samples, n1 features) has the data
covariance K = F^T F / m = M, the conjugate kernel of :class:`~optdyn.rmt.law.ConjugateKernel`
(Benigni & Peche, EJP 26 (2021); Pennington & Worah, NeurIPS 2017). Its limiting law gives the
theory a covariance spectrum without forming or diagonalising K:

* :func:`conjugate_kernel_problem` returns a :class:`optdyn.problems.LinearRegression` whose
  eigenvalues are the d mid-quantiles F^{-1}((j - 1/2)/d) of the limiting law (d = n1 by default).
  SGD's theory only sees the spectrum; signSGD's also sees the basis (it acts coordinate-wise),
  and random features look like a generic basis (constant diagonal K_ii ~ theta1): pass
  ``basis="haar"`` for it.
* :func:`random_features_problem` is the simulation side: an actual random-feature data set
  (``optdyn.problems.DataRegression`` with rows f(W x_j / sqrt(n0)), planted theta* and Gaussian
  label noise), streamed one pass without replacement.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.registry import register
from optdyn.rmt.activation import Activation
from optdyn.rmt.empirical import EntryLaw, _one_layer
from optdyn.rmt.law import SpectralLaw

__all__ = ["conjugate_kernel_problem", "random_features_problem"]


def conjugate_kernel_problem(law: SpectralLaw, d: int | None = None, *, basis: Any = None,
                             theta_star: Any = None, theta_star_norm: float | None = None,
                             theta0: Any = None, noise: Any = None, seed: int = 0,
                             basis_seed: int = 0) -> Any:
    """A ``LinearRegression`` whose covariance spectrum is the limiting conjugate-kernel law.

    eigenvalues_j = F^{-1}((j - 1/2)/d), j = 1..d (zeros for the atom at 0), F the law's CDF.

    Args:
        law: a :class:`~optdyn.rmt.law.ConjugateKernel` (or multi-layer) law.
        d: number of eigenvalues (default: the law's width n1, or n_L).
        theta_star_norm: instead of ``theta_star``, a target of this norm with equal-magnitude,
            random-sign coordinates in K's eigenbasis (theta*_j^2 = norm^2/d: the average of a
            uniformly random direction, without its O(d^-1/2) fluctuation of R0).
        basis: passed to ``LinearRegression`` (``basis="haar"`` for coordinate-wise
            optimizers such as signSGD, see module doc).
        theta_star: passed to ``LinearRegression``.
        theta0: passed to ``LinearRegression``.
        noise: passed to ``LinearRegression``.
        seed: passed to ``LinearRegression``.
        basis_seed: passed to ``LinearRegression``.
    """
    from optdyn.problems import LinearRegression

    if not isinstance(law, SpectralLaw):
        raise ConfigError("law", f"expected a ConjugateKernel law, got {type(law).__name__}")
    if d is None:
        d = getattr(law, "n1", None) or law.widths[-1]  # type: ignore[attr-defined]
    eig = law.quantiles(int(d))[::-1].copy()  # decreasing, like a covariance built by eigh
    if theta_star_norm is not None:
        if theta_star is not None:
            raise ConfigError("theta_star_norm", "give theta_star or theta_star_norm, not both")
        base = LinearRegression(eigenvalues=eig, basis=basis, basis_seed=basis_seed)
        flat = _flat_target(eig.size, theta_star_norm, seed)
        theta_star = flat if base.basis is None else base.basis @ flat
    return LinearRegression(eigenvalues=eig, basis=basis, theta_star=theta_star, theta0=theta0,
                            noise=noise, seed=seed, basis_seed=basis_seed)


@register("problem", "random_features")
def random_features_problem(activation: str | Callable | Activation, n0: int, n1: int, m: int,
                            *, theta_star_norm: float = 1.0, noise_std: float = 0.0,
                            seed: int = 0, w_entries: str | EntryLaw = "gaussian",
                            x_entries: str | EntryLaw = "gaussian", sigma_w: float = 1.0,
                            sigma_x: float = 1.0, centre: bool = False) -> Any:
    """Least squares on actual random features: rows F_j = f(W x_j / sqrt(n0)), j = 1..m.

    Targets y_j = <F_j, theta*> + eps_j, eps_j ~ N(0, noise_std^2), theta* of norm
    ``theta_star_norm`` with equal-magnitude random-sign coordinates in K's eigenbasis (as in
    :func:`conjugate_kernel_problem`), theta0 = 0; the covariance is K = F^T F / m = M exactly
    (no normalisation), so its spectrum follows :class:`~optdyn.rmt.law.ConjugateKernel` with the
    same (activation, n0, n1, m). Returns an ``optdyn.problems.DataRegression`` (streamed one
    pass without replacement per epoch; keep steps <= m for fresh samples).
    """
    from optdyn import noise as noise_laws
    from optdyn.problems import DataRegression

    if not (math.isfinite(theta_star_norm) and theta_star_norm >= 0):
        raise ConfigError("theta_star_norm", f"must be finite and >= 0, got {theta_star_norm!r}")
    if not (math.isfinite(noise_std) and noise_std >= 0):
        raise ConfigError("noise_std", f"must be finite and >= 0, got {noise_std!r}")
    y = _one_layer(activation, n0, n1, m, seed, w_entries, x_entries, sigma_w, sigma_x, centre)
    feats = np.ascontiguousarray(y.T)  # (m, n1): one sample per row
    cov = feats.T @ feats / m
    cov = 0.5 * (cov + cov.T)
    _, vecs = np.linalg.eigh(cov)
    ts = vecs @ _flat_target(n1, theta_star_norm, seed)
    eps = noise_std * np.random.default_rng([seed, 7]).standard_normal(m)
    return DataRegression(covariance=cov, theta_star=ts, theta0=np.zeros(n1),
                          noise=noise_laws.Gaussian(noise_std), features=feats,
                          targets=feats @ ts + eps, source="random features", seed=seed,
                          preprocessing={"activation": str(getattr(activation, "__name__",
                                                                      activation)),
                                         "n0": n0, "n1": n1, "m": m})


def _flat_target(d: int, norm: float, seed: int) -> np.ndarray:
    """Coordinates +-norm/sqrt(d) with random signs."""
    if not (math.isfinite(norm) and norm >= 0):
        raise ConfigError("theta_star_norm", f"must be finite and >= 0, got {norm!r}")
    signs = np.where(np.random.default_rng([seed, 11]).random(d) < 0.5, -1.0, 1.0)
    return signs * (norm / math.sqrt(d))
