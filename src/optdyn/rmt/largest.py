"""Largest eigenvalue of the conjugate kernel: the right edge, and outliers from low-rank spikes.

Benigni & Peche (arXiv 2201.04753) show that lambda_max(M) has the limit of that of an
information-plus-noise linear model, with a phase transition that depends on f and on the entry
laws of W and X. Their constants could not be read; this module implements the reconstruction of
docs/theory/rmt.md section 7.2 (a claim that the tests and the figure ``rmt-largest-eigenvalue``
check against simulation):

* Row and column norm fluctuations alpha_i = |w_i|^2/(n0 sigma_w^2) - 1, beta_j likewise (variance
  kappa/n0, kappa = E w^4/sigma^4 - 1) shift the conditional means of f by (c2/sqrt 2) alpha_i and
  (c2/sqrt 2) beta_j (c2 = second Hermite coefficient). So (1/sqrt m) Y = noise + s_W u 1^T/sqrt m
  + s_X 1 v^T/sqrt n1 with s_W^2 = c2^2 kappa_W / (2 psi), s_X^2 = c2^2 kappa_X / (2 psi).
* A non-centred f adds mu0 1 1^T: strength a = mu0 sqrt(n1) along (1_n1, 1_m) (docs/theory/rmt.md
section 7.4),
  sharing its right vector with the W-spike and its left vector with the X-spike; the perturbation
  is [[a, s_X], [s_W, 0]] in the bases (1, u) x (1, v); its singular values theta_k are the spikes.
* Rectangular BBP (Benaych-Georges & Nadakuditi, J. Multivariate Anal. 111 (2012), thm 2.9): with
  g(lambda) = -S(lambda) > 0 for lambda > lambda_+,

      D(lambda) = lambda g(lambda) (gamma g(lambda) + (1 - gamma)/lambda),

  a spike theta^2 > 1/D(lambda_+) gives an outlier at the root of D(lambda) = 1/theta^2; otherwise
  the top eigenvalue sticks to lambda_+. Hence lambda_max -> max(lambda_+, outliers).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.lazy import lazy_module

optimize = lazy_module("scipy.optimize")

__all__ = ["SpikePrediction", "d_transform", "outlier_location", "bbp_threshold",
           "conjugate_kernel_spikes"]


def d_transform(law: Any, lam: Any, gamma: float) -> np.ndarray:
    """D(lambda) = gamma lambda g^2 + (1 - gamma) g, g = -S(lambda), for real lambda > lambda_+."""
    lam = np.atleast_1d(np.asarray(lam, dtype=float))
    g = -law.stieltjes(lam).real
    return gamma * lam * g * g + (1.0 - gamma) * g


def bbp_threshold(law: Any, gamma: float) -> float:
    """Critical spike strength theta_c^2 = 1 / D(lambda_+)."""
    # D(lambda_+ + h) = D0 - C sqrt(h) + E h + O(h^1.5) (square-root edge): extrapolate from
    # h, 4h, 16h to remove the sqrt and linear terms
    edge = law.right_edge
    h = 1e-8 * edge
    vals = d_transform(law, edge + h * np.array([1.0, 4.0, 16.0]), gamma)
    r = np.sqrt(np.array([1.0, 4.0, 16.0]))
    coef = np.linalg.solve(np.stack([np.ones(3), r, r * r], axis=1), vals)
    return float(1.0 / coef[0])


def outlier_location(law: Any, strength2: float, gamma: float) -> float:
    """The outlier of a rectangular spike of strength theta^2, or NaN when subcritical.

    Solves D(lambda) = 1/theta^2 on (lambda_+, inf) by Brent's method (D decreases from
    D(lambda_+) to 0 like 1/lambda).
    """
    if not (math.isfinite(strength2) and strength2 >= 0):
        raise ConfigError("strength", f"must be finite and >= 0, got {strength2!r}")
    if strength2 <= bbp_threshold(law, gamma):
        return math.nan
    edge = law.right_edge
    target = 1.0 / strength2

    def h(lam: float) -> float:
        return float(d_transform(law, lam, gamma)[0]) - target

    hi = edge + 2.0 * (strength2 + law.upper_bound)
    while h(hi) > 0:
        hi *= 2.0
    return float(optimize.brentq(h, edge * (1 + 1e-12), hi, xtol=1e-13, rtol=1e-13))


@dataclasses.dataclass(frozen=True)
class SpikePrediction:
    """Predicted top of the spectrum of M.

    Attributes:
        right_edge: lambda_+ of the bulk.
        threshold: critical strength 1/D(lambda_+).
        s_w2, s_x2, mean2: the strengths c2^2 kappa_W/(2 psi), c2^2 kappa_X/(2 psi), n1 mu0^2.
        strengths: squared singular values of the combined perturbation (decreasing).
        outliers: their outlier positions (NaN when subcritical).
    """

    right_edge: float
    threshold: float
    s_w2: float
    s_x2: float
    mean2: float
    strengths: tuple[float, ...]
    outliers: tuple[float, ...]

    @property
    def largest(self) -> float:
        """max(lambda_+, outliers): the predicted limit of lambda_max."""
        out = [o for o in self.outliers if math.isfinite(o)]
        return max([self.right_edge, *out])

    @property
    def n_outliers(self) -> int:
        """How many eigenvalues are predicted to separate from the bulk."""
        return sum(math.isfinite(o) for o in self.outliers)


def conjugate_kernel_spikes(kernel: Any, w_kurtosis: float = 3.0,
                            x_kurtosis: float = 3.0) -> SpikePrediction:
    """Spikes and outliers of a :class:`~optdyn.rmt.law.ConjugateKernel` (module docstring).

    Args:
        kernel: the one-layer law (gives c2, psi, gamma, n1, the mean mu0 and S).
        w_kurtosis: E w^4/sigma_w^4 (>= 1; 3 for Gaussian).
        x_kurtosis: E x^4/sigma_x^4 (>= 1; 3 for Gaussian).
    """
    for name, k in (("w_kurtosis", w_kurtosis), ("x_kurtosis", x_kurtosis)):
        if not (math.isfinite(k) and k >= 1.0):
            raise ConfigError(name, f"E w^4 / sigma^4 must be finite and >= 1, got {k!r}")
    c2 = kernel.c2
    s_w2 = c2 * c2 * (w_kurtosis - 1.0) / (2.0 * kernel.psi)
    s_x2 = c2 * c2 * (x_kurtosis - 1.0) / (2.0 * kernel.psi)
    a = kernel.mean * math.sqrt(kernel.n1)
    mat = np.array([[a, math.sqrt(s_x2)], [math.sqrt(s_w2), 0.0]])
    strengths = tuple(float(v) ** 2 for v in np.linalg.svd(mat, compute_uv=False))
    thr = bbp_threshold(kernel, kernel.gamma)
    outliers = tuple(outlier_location(kernel, s, kernel.gamma) if s > thr else math.nan
                     for s in strengths)
    return SpikePrediction(kernel.right_edge, thr, s_w2, s_x2, a * a, strengths, outliers)
