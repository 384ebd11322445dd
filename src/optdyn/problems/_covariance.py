"""What every Gaussian-input problem derives from its covariance K = Q diag(lambda) Q^T.

Shared by :class:`~optdyn.problems.LinearRegression` and
:class:`~optdyn.problems.MatrixRegression`: both store the eigenvalues ``lambda`` and the basis
``Q`` (None for the identity).
"""

from __future__ import annotations

import hashlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optdyn._core.traps import warn_trap
from optdyn.problems.base import GaussianRegression

__all__ = ["SpectralCovariance", "as_noise_law", "digest"]


def as_noise_law(value: Any) -> Any:
    """A problem's ``noise`` field as a law: None is no noise, a config table is built (its
    ``law`` key names it), anything else must be a law from :mod:`optdyn.noise`."""
    from optdyn._core.errors import ConfigError
    from optdyn.noise import NoiseLaw, NoNoise
    from optdyn.noise import from_config as noise_from_config

    noise = value if value is not None else NoNoise()
    if isinstance(noise, dict):
        noise = noise_from_config(noise)
    if not isinstance(noise, NoiseLaw):
        raise ConfigError("noise", f"expected a law from optdyn.noise, got {noise!r}")
    return noise


def digest(*arrays: np.ndarray | None) -> str:
    """A short content hash of float64 arrays (None hashes as a marker), for configs."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(b"none" if a is None else np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


class SpectralCovariance(GaussianRegression):
    """Mixin: the dense K, Tr K and ||K||_op from ``self.eigenvalues`` and ``self.basis``, and
    the parts of the engine interface every Gaussian-input regression shares (the start's risk,
    the rotation of eigenbasis inputs, one labelled batch). A subclass names its target and
    start attributes (``target_attr``, ``start_attr``) and the engine array of the target
    (``target_array``)."""

    eigenvalues: np.ndarray
    basis: np.ndarray | None
    target_attr: str = "theta_star"
    start_attr: str = "theta0"
    target_array: str = "theta_star"

    def _warn_zero_start(self) -> None:
        """Warn when the start equals the target (R0 = 0): the risk then only shows the noise."""
        if self.initial_risk != 0.0:
            return
        target = "theta_star" if self.target_attr == "theta_star" else "target"
        hint = ("theta_star=PowerLawCoefficients(beta=1.0)" if target == "theta_star" else
                "target=PowerLawTarget(beta=0.5)")
        floor = ("stays 0 at every step (there is no noise either)"
                 if self.noise_second_moment == 0 else "only rises to the noise floor")
        warn_trap(f"{type(self).__name__}: the initial risk R0 = 0 because the start equals the "
                  f"target (by default both are zero), so the risk {floor}. "
                  f"Give a target, e.g. {hint}.", stacklevel=4)

    @property
    def initial_risk(self) -> float:
        """R at the start (theta0 or W0)."""
        return float(self.risk(getattr(self, self.start_attr)))  # type: ignore[attr-defined]

    def rotate(self, arrays: dict, x: jax.Array) -> jax.Array:
        """Apply the basis to inputs drawn in the eigenbasis: x Q^T (no-op for the identity)."""
        if arrays["basis_t"] is None:
            return x
        shape = x.shape
        return (x.reshape(-1, shape[-1]) @ arrays["basis_t"]).reshape(shape)

    def sample(self, key: jax.Array, batch_size: int,
               dtype: Any = jnp.float32) -> tuple[jax.Array, jax.Array]:
        """One batch drawn from a JAX key: inputs x (B, d) and labels y = x theta* + eps."""
        arrays = self.engine_arrays(dtype)  # type: ignore[attr-defined]
        x, eps = self.draw(arrays, key, batch_size, dtype)  # type: ignore[attr-defined]
        x = self.rotate(arrays, x)
        return x, x @ arrays[self.target_array] + eps

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
