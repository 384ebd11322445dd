"""What every Gaussian-input problem derives from its covariance K = Q diag(lambda) Q^T.

Shared by :class:`~optdyn.problems.LinearRegression` and
:class:`~optdyn.problems.MatrixRegression`: both store the eigenvalues ``lambda`` and the basis
``Q`` (None for the identity).
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["SpectralCovariance", "digest"]


def digest(*arrays: np.ndarray | None) -> str:
    """A short content hash of float64 arrays (None hashes as a marker), for configs."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(b"none" if a is None else np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


class SpectralCovariance:
    """Mixin: the dense K, Tr K and ||K||_op from ``self.eigenvalues`` and ``self.basis``."""

    eigenvalues: np.ndarray
    basis: np.ndarray | None

    @property
    def K(self) -> np.ndarray:
        """The dense covariance Q diag(lambda) Q^T (float64)."""
        if self.basis is None:
            return np.diag(self.eigenvalues)
        return (self.basis * self.eigenvalues) @ self.basis.T

    @property
    def trace(self) -> float:
        """Tr K = sum_j lambda_j."""
        return float(self.eigenvalues.sum())

    @property
    def op_norm(self) -> float:
        """||K||_op = max_j lambda_j."""
        return float(self.eigenvalues.max())
