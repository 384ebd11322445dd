"""Builders for covariance spectra, covariance matrices and orthogonal bases.

Conventions (Paquette et al., power-law random features, arXiv 2405.15074): a power-law
spectrum is lambda_j = j^(-2 alpha), j = 1..d, in decreasing order. Every builder returns NumPy
float64 arrays; randomness comes from an explicit integer seed.
"""

from __future__ import annotations

import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.registry import register

__all__ = [
    "isotropic",
    "power_law",
    "toeplitz_covariance",
    "empirical_covariance",
    "haar_orthogonal",
]


def _check_d(d: int) -> int:
    if not isinstance(d, int | np.integer) or isinstance(d, bool) or d < 1:
        raise ConfigError("d", f"must be a positive integer, got {d!r}")
    return int(d)


@register("spectrum")
def isotropic(d: int, value: float = 1.0) -> np.ndarray:
    """Isotropic spectrum: lambda_j = value for j = 1..d."""
    d = _check_d(d)
    if not np.isfinite(value) or value < 0:
        raise ConfigError("value", f"must be finite and >= 0, got {value!r}")
    return np.full(d, float(value))


@register("spectrum")
def power_law(d: int, alpha: float, scale: float = 1.0) -> np.ndarray:
    """Power-law spectrum: lambda_j = scale * j^(-2 alpha), j = 1..d (decreasing for alpha > 0)."""
    d = _check_d(d)
    if not np.isfinite(alpha):
        raise ConfigError("alpha", f"must be finite, got {alpha!r}")
    if not np.isfinite(scale) or scale <= 0:
        raise ConfigError("scale", f"must be finite and > 0, got {scale!r}")
    j = np.arange(1, d + 1, dtype=float)
    return scale * j ** (-2.0 * alpha)


@register("covariance", "toeplitz")
def toeplitz_covariance(
    d: int,
    rho: float = 0.5,
    diag: np.ndarray | None = None,
    diag_range: tuple[float, float] = (0.25, 4.0),
    seed: int = 0,
) -> np.ndarray:
    """Correlated covariance with a non-constant diagonal: K = D^(1/2) T D^(1/2), T_ij = rho^|i-j|.

    ``diag`` gives D directly; otherwise D_ii is drawn log-uniformly on ``diag_range`` from
    ``seed`` (the set-up of docs/theory/signsgd.md section 7.2, used to make diagonal
    preconditioning visible). K is positive definite for |rho| < 1.
    """
    d = _check_d(d)
    if not (-1.0 < rho < 1.0):
        raise ConfigError("rho", f"must lie in (-1, 1), got {rho!r}")
    if diag is None:
        lo, hi = diag_range
        if not (0 < lo <= hi):
            raise ConfigError("diag_range", f"must satisfy 0 < lo <= hi, got {diag_range!r}")
        rng = np.random.default_rng(seed)
        diag = np.exp(rng.uniform(np.log(lo), np.log(hi), size=d))
    diag = np.asarray(diag, dtype=float)
    if diag.shape != (d,) or np.any(~np.isfinite(diag)) or np.any(diag <= 0):
        raise ConfigError("diag", f"must be {d} positive finite numbers")
    idx = np.arange(d)
    t = rho ** np.abs(idx[:, None] - idx[None, :])
    s = np.sqrt(diag)
    return s[:, None] * t * s[None, :]


def empirical_covariance(data: np.ndarray, center: bool = True) -> np.ndarray:
    """Empirical covariance of a data matrix (rows are samples): K = X_c^T X_c / n."""
    x = np.asarray(data, dtype=float)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ConfigError("data", f"must be a 2-D array (samples x features), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ConfigError("data", "contains NaN or infinite entries")
    if center:
        x = x - x.mean(axis=0, keepdims=True)
    return x.T @ x / x.shape[0]


def haar_orthogonal(d: int, seed: int = 0) -> np.ndarray:
    """A Haar-distributed orthogonal d x d matrix from ``seed``.

    QR of a standard Gaussian matrix with the signs of R's diagonal moved into Q (Mezzadri,
    "How to generate random matrices from the classical compact groups", 2007).
    """
    d = _check_d(d)
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))[None, :]
