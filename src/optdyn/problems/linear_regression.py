"""Streaming (one-pass) linear regression with Gaussian inputs and an arbitrary label-noise law.

Model (Paquette et al.; Marshall et al. arXiv 2406.11733 section 2; Xiao et al. arXiv 2411.12135
section 2): at each step a fresh batch x_1..x_B ~ N(0, K), y_i = <x_i, theta*> + eps_i with eps_i
i.i.d. from the noise law and independent of x. Per-sample loss (1/2)(<x, theta> - y)^2, whose
gradient is r x with residual r = <x, theta - theta*> - eps.

Risk (the quantity every result reports) is the *excess population risk*

    R(theta) = (1/2) (theta - theta*)^T K (theta - theta*),

computed exactly from K, never from a test sample; the loss is R + E[eps^2]/2 where finite.

K is stored as its eigen-decomposition K = U diag(lambda) U^T (U = None means the identity, the
fast diagonal path). Inputs are sampled as x = U (lambda^(1/2) * z), z ~ N(0, I).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.registry import register
from optdyn.problems._covariance import SpectralCovariance, as_noise_law, digest
from optdyn.problems.spectra import haar_orthogonal
from optdyn.problems.targets import VectorBuilder, Zeros

__all__ = ["LinearRegression"]

_SYM_TOL = 1e-10


def _as_vector(
    value: Any, field: str, d: int, eig: np.ndarray, basis: Any, seed: int
) -> np.ndarray:
    if isinstance(value, VectorBuilder):
        vec = value.build(eig, basis, seed)
    else:
        vec = np.asarray(value, dtype=float)
    if vec.shape != (d,):
        raise ConfigError(field, f"has shape {vec.shape}, expected ({d},) to match the covariance")
    if not np.all(np.isfinite(vec)):
        raise ConfigError(field, "contains NaN or infinite entries")
    return vec


@register("problem", "linear_regression", eigenvalues="spectrum", covariance="covariance",
          theta_star="vector", theta0="vector", noise="noise")
@dataclasses.dataclass(frozen=True, eq=False)
class LinearRegression(SpectralCovariance):
    """Streaming linear regression y = <x, theta*> + eps with x ~ N(0, K).

    Give the covariance either as ``eigenvalues`` with a ``basis`` (None: identity, the fast
    diagonal path; ``"haar"``: a Haar-random rotation drawn from ``basis_seed``; or an explicit
    orthogonal matrix whose columns are the eigenvectors), or as a full symmetric PSD
    ``covariance`` matrix (diagonalised with ``numpy.linalg.eigh``; a diagonal matrix keeps the
    identity basis). ``theta_star`` and ``theta0`` are arrays or builders from
    :mod:`optdyn.problems.targets` (default: theta* = 0, theta0 = 0); ``noise`` a law from
    :mod:`optdyn.noise` (default: no noise).

    Attributes after construction: ``eigenvalues`` (float64, in the order given; decreasing when
    built from a covariance), ``basis`` (None or U), ``theta_star``, ``theta0`` (original
    coordinates), ``noise``, ``d``.
    """

    eigenvalues: Any = None
    basis: Any = None
    covariance: Any = None
    theta_star: Any = None
    theta0: Any = None
    noise: Any = None
    basis_seed: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        if (self.eigenvalues is None) == (self.covariance is None):
            raise ConfigError(
                "covariance", "give exactly one of `eigenvalues=` (with `basis=`) or `covariance=`"
            )
        basis_kind = "identity"
        if self.covariance is not None:
            if self.basis is not None:
                raise ConfigError("basis", "only with `eigenvalues=`; `covariance=` has its own")
            eig, basis = self._decompose(self.covariance)
            basis_kind = "identity" if basis is None else "covariance"
        else:
            eig = np.asarray(self.eigenvalues, dtype=float)
            if eig.ndim != 1 or eig.size == 0:
                raise ConfigError("eigenvalues", f"must be a non-empty 1-D array, got {eig.shape}")
            if not np.all(np.isfinite(eig)) or np.any(eig < 0):
                raise ConfigError("eigenvalues", "must be finite and >= 0 (K is PSD)")
            basis = self.basis
            if isinstance(basis, str):
                if basis == "haar":
                    basis = haar_orthogonal(eig.size, self.basis_seed)
                    basis_kind = "haar"
                elif basis == "identity":
                    basis = None
                else:
                    raise ConfigError("basis", f"expected None, 'identity', 'haar' or a matrix, "
                                      f"got {basis!r}")
            elif basis is not None:
                basis = np.asarray(basis, dtype=float)
                if basis.shape != (eig.size, eig.size):
                    raise ConfigError("basis", f"has shape {basis.shape}, expected "
                                      f"({eig.size}, {eig.size})")
                err = np.abs(basis.T @ basis - np.eye(eig.size)).max()
                if not err < 1e-8:
                    raise ConfigError("basis", f"is not orthogonal (max |U^T U - I| = {err:.2e})")
                basis_kind = "matrix"
        d = eig.size
        set_("eigenvalues", eig)
        set_("basis", basis)
        set_("covariance", None)
        set_("_basis_kind", basis_kind)
        ts = self.theta_star if self.theta_star is not None else Zeros()
        t0 = self.theta0 if self.theta0 is not None else Zeros()
        set_("_target_config", ts.to_config() if isinstance(ts, VectorBuilder) else None)
        set_("_start_config", t0.to_config() if isinstance(t0, VectorBuilder) else None)
        set_("theta_star", _as_vector(ts, "theta_star", d, eig, basis, self.seed))
        set_("theta0", _as_vector(t0, "theta0", d, eig, basis, self.seed + 1))
        set_("noise", as_noise_law(self.noise))
        self._warn_zero_start()

    @staticmethod
    def _decompose(cov: Any) -> tuple[np.ndarray, np.ndarray | None]:
        k = np.asarray(cov, dtype=float)
        if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] == 0:
            raise ConfigError("covariance", f"must be a square matrix, got shape {k.shape}")
        if not np.all(np.isfinite(k)):
            raise ConfigError("covariance", "contains NaN or infinite entries")
        scale = max(np.abs(k).max(), 1e-300)
        asym = np.abs(k - k.T).max() / scale
        if asym > _SYM_TOL:
            raise ConfigError("covariance", f"is not symmetric (max |K - K^T| / max |K| = "
                              f"{asym:.2e})")
        if np.count_nonzero(k - np.diag(np.diag(k))) == 0:
            eig, basis = np.diag(k).copy(), None
        else:
            eig, basis = np.linalg.eigh(0.5 * (k + k.T))
            eig, basis = eig[::-1].copy(), basis[:, ::-1].copy()
        if eig.min() < -1e-10 * max(eig.max(), 1e-300):
            raise ConfigError("covariance", f"is not positive semi-definite (smallest eigenvalue "
                              f"{eig.min():.3e})")
        return np.clip(eig, 0.0, None), basis

    # ----------------------------------------------------------------- descriptive properties
    @property
    def d(self) -> int:
        """Dimension of theta."""
        return int(self.eigenvalues.size)

    @property
    def noise_second_moment(self) -> float:
        """E[eps^2] (infinite for heavy-tailed laws)."""
        return float(self.noise.second_moment)

    def modes(self, vector: np.ndarray) -> np.ndarray:
        """Coordinates of ``vector`` (..., d) in K's eigenbasis: U^T v."""
        v = np.asarray(vector, dtype=float)
        return v if self.basis is None else v @ self.basis

    def risk(self, theta: np.ndarray) -> np.ndarray:
        """Exact excess risk R = (1/2) (theta - theta*)^T K (theta - theta*), float64, batched."""
        m = self.modes(np.asarray(theta, dtype=float) - self.theta_star)
        return 0.5 * np.sum(self.eigenvalues * m * m, axis=-1)

    def loss(self, theta: np.ndarray) -> np.ndarray:
        """Population loss R + E[eps^2]/2 (infinite when the noise variance is)."""
        return self.risk(theta) + 0.5 * self.noise_second_moment

    def to_config(self) -> dict[str, Any]:
        """A JSON-serialisable description recorded in every result's attributes."""
        return {
            "problem": "LinearRegression",
            "d": self.d,
            "basis": self._basis_kind,  # type: ignore[attr-defined]
            "basis_seed": self.basis_seed,
            "seed": self.seed,
            "trace_K": self.trace,
            "op_norm_K": self.op_norm,
            "theta_star": self._target_config,  # type: ignore[attr-defined]
            "theta0": self._start_config,  # type: ignore[attr-defined]
            "noise": self.noise.to_config(),
            "initial_risk": self.initial_risk,
            "digest": digest(self.eigenvalues, self.basis, self.theta_star, self.theta0),
        }

    # ------------------------------------------------------- what the simulation engine uses
    def engine_key(self) -> tuple:
        """What the compiled engine depends on besides the arrays: reuse compiled code across
        problems with equal keys."""
        return (type(self).__name__, self.d, self.basis is None, self.noise)

    def engine_arrays(self, dtype: Any) -> dict[str, jax.Array | None]:
        """Arrays handed to the compiled engine as arguments (never baked in as constants)."""
        f64 = jnp.float64
        return {
            "sqrt_eig": jnp.asarray(np.sqrt(self.eigenvalues), dtype),
            "basis_t": None if self.basis is None else jnp.asarray(self.basis.T, dtype),
            "theta_star": jnp.asarray(self.theta_star, dtype),
            "theta0": jnp.asarray(self.theta0, dtype),
            "eig64": jnp.asarray(self.eigenvalues, f64),
            "basis64": None if self.basis is None else jnp.asarray(self.basis, f64),
            "theta_star64": jnp.asarray(self.theta_star, f64),
        }

    def draw(self, arrays: dict, key: jax.Array, batch_size: int, dtype: Any):
        """Inputs x = (lambda^(1/2) z) U^T (rows) and label noise eps for one step.

        Leading axes of ``key`` (e.g. a block of per-step keys) become leading axes of the output,
        and the rotation of a whole block is one matrix product.
        """
        kz, ke = jax.random.split(key)
        z = jax.random.normal(kz, (batch_size, self.d), dtype)
        eps = self.noise.sample(ke, (batch_size,), dtype)
        return z * arrays["sqrt_eig"], eps

    @staticmethod
    def gradient(arrays: dict, params: jax.Array, batch: tuple, per_sample: bool) -> jax.Array:
        """Mean mini-batch gradient (1/B) sum_i r_i x_i, or per-sample gradients r_i x_i (B, d)."""
        x, eps = batch
        r = x @ (params - arrays["theta_star"]) - eps
        if per_sample:
            return r[:, None] * x
        return (r @ x) / x.shape[0]

    @staticmethod
    def risk_jax(arrays: dict, params: jax.Array) -> jax.Array:
        """Exact excess risk in float64 of a (float32) iterate, for the engine's checkpoints."""
        e = params.astype(jnp.float64) - arrays["theta_star64"]
        if arrays["basis64"] is not None:
            e = e @ arrays["basis64"]
        return 0.5 * jnp.sum(arrays["eig64"] * e * e, axis=-1)

    @staticmethod
    def sq_distance_bound(arrays: dict, params: jax.Array) -> jax.Array:
        """Cheap O(d) upper bound (1/2) ||K|| ||theta - theta*||^2 >= R, for divergence checks."""
        e = params - arrays["theta_star"]
        return 0.5 * jnp.max(arrays["eig64"]) * jnp.sum(e.astype(jnp.float64) ** 2, axis=-1)
