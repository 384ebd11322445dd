"""Streaming matrix least squares (multi-output linear regression) with Gaussian inputs.

Model (docs/theory/muon.md section 1.1; Paquette, Marshall, Benigni, Wang, Agarwala, Paquette,
"Phases of
Muon: When Muon Eclipses SignSGD", arXiv 2605.09552): at each step a fresh batch x_1..x_B ~ N(0, K)
in R^d, targets y_i = W*^T x_i + eps_i in R^m with eps_i ~ N(0, sigma^2 I_m) independent of x. The
parameter is W in R^(d x m), the residual Delta = W - W*. Per-sample loss (1/2)||W^T x - y||^2, so
the mini-batch gradient is

    G = (1/B) X^T E,    E = X Delta - Eps  (B x m),    E[G] = K Delta,

of rank <= B. Risk (what every result reports) is the exact excess population risk

    R(W) = (1/2) tr(Delta^T K Delta) = (1/2) sum_j lambda_j rho_j,   rho_j = ||q_j^T Delta||^2,

where K = Q diag(lambda) Q^T and rho_j is the residual energy of eigen-direction j summed over the
m outputs; the loss is R + m sigma^2 / 2. With ``normalize_by_m`` the per-sample loss, the risk and
the gradient are divided by m (loss R + sigma^2 / 2).

K is stored as its eigendecomposition (``basis`` None is the identity: axis-aligned, the fast
path); inputs are sampled as x = Q (lambda^(1/2) * z), z ~ N(0, I_d). The theory needs the
``eigenvalues``, the ``basis``, the per-mode energies :meth:`MatrixRegression.rho` and the initial
error in K's eigenbasis :attr:`MatrixRegression.initial_error_modes` = Q^T (W0 - W*).

Targets and starts (``target=``, ``w0=``) are arrays or builders from this module:
:class:`PowerLawTarget` (W* = Q diag(scale j^-beta) V with random unit output directions, so
rho_j(0) = scale^2 j^(-2 beta) exactly from W0 = 0; docs/theory/muon.md section 3.1),
:class:`RandomTarget`, :class:`ZeroTarget`, or their configs ``{"kind": "power_law", "beta": 1.0}``.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.lowrank import LowRank
from optdyn._core.registry import register
from optdyn._core.spec import build
from optdyn.problems._covariance import SpectralCovariance, digest
from optdyn.problems.spectra import haar_orthogonal

__all__ = [
    "update_direction",
    "MatrixRegression",
    "MatrixBuilder",
    "PowerLawTarget",
    "RandomTarget",
    "ZeroTarget",
    "matrix_from_config",
]


# --------------------------------------------------------------------------------- builders
class MatrixBuilder(abc.ABC):
    """Base class of target/start builders: ``build(eigenvalues, basis, m, seed)`` -> (d, m)."""

    name = "matrix"

    @abc.abstractmethod
    def build(self, eigenvalues: np.ndarray, basis: np.ndarray | None, m: int,
              seed: int) -> np.ndarray:
        """The matrix in the original coordinates (float64, shape (d, m))."""

    def to_config(self) -> dict[str, Any]:
        """``{"kind": name, **fields}``, which :func:`matrix_from_config` turns back into it."""
        return {"kind": self.name, **dataclasses.asdict(self)}  # type: ignore[call-overload]


@register("matrix")
@dataclasses.dataclass(frozen=True)
class PowerLawTarget(MatrixBuilder):
    """W* = Q diag(c) V with c_j = scale * j^(-beta) in K's eigenbasis (PLRF convention).

    Row j of V is the output direction of mode j: ``directions="random"`` draws independent
    uniform unit vectors in R^m, ``"orthogonal"`` orthonormal rows (needs m >= d; then Q^T W* W*^T Q
    is exactly diagonal). Either way rho_j = ||q_j^T W*||^2 = c_j^2 exactly. The directions depend
    on the seed only, not on the basis, so problems that differ only in the basis are rotations of
    each other.
    """

    beta: float
    scale: float = 1.0
    directions: str = "random"
    name = "power_law"

    def __post_init__(self) -> None:
        if not np.isfinite(self.beta):
            raise ConfigError("beta", f"must be finite, got {self.beta!r}")
        if not np.isfinite(self.scale) or self.scale < 0:
            raise ConfigError("scale", f"must be finite and >= 0, got {self.scale!r}")
        if self.directions not in ("random", "orthogonal"):
            raise ConfigError("directions", f"expected 'random' or 'orthogonal', got "
                              f"{self.directions!r}")

    def build(self, eigenvalues: np.ndarray, basis: np.ndarray | None, m: int,
              seed: int) -> np.ndarray:
        d = eigenvalues.shape[0]
        j = np.arange(1, d + 1, dtype=float)
        coef = self.scale * j ** (-self.beta)
        rng = np.random.default_rng([seed, 3])
        if self.directions == "orthogonal":
            if m < d:
                raise ConfigError("directions", f"'orthogonal' needs m >= d, got d={d}, m={m}")
            v = haar_orthogonal(m, int(rng.integers(2**31)))[:d]
        else:
            v = rng.standard_normal((d, m))
            v /= np.linalg.norm(v, axis=1, keepdims=True)
        c = coef[:, None] * v
        return c if basis is None else basis @ c


@register("matrix")
@dataclasses.dataclass(frozen=True)
class RandomTarget(MatrixBuilder):
    """A matrix with i.i.d. Gaussian entries scaled to Frobenius norm ``norm``."""

    norm: float = 1.0
    name = "random"

    def __post_init__(self) -> None:
        if not np.isfinite(self.norm) or self.norm < 0:
            raise ConfigError("norm", f"must be finite and >= 0, got {self.norm!r}")

    def build(self, eigenvalues: np.ndarray, basis: np.ndarray | None, m: int,
              seed: int) -> np.ndarray:
        g = np.random.default_rng([seed, 4]).standard_normal((eigenvalues.shape[0], m))
        return self.norm * g / np.linalg.norm(g)


@register("matrix")
@dataclasses.dataclass(frozen=True)
class ZeroTarget(MatrixBuilder):
    """The zero matrix."""

    name = "zeros"

    def build(self, eigenvalues: np.ndarray, basis: np.ndarray | None, m: int,
              seed: int) -> np.ndarray:
        return np.zeros((eigenvalues.shape[0], m))


def matrix_from_config(cfg: dict[str, Any], field: str) -> MatrixBuilder:
    """Build from ``{"kind": "power_law", "beta": 1.0}``, ``{"kind": "random", "norm": 2}``..."""
    return build("matrix", cfg, field)


def _as_matrix(value: Any, field: str, d: int, m: int, eig: np.ndarray, basis: Any,
               seed: int) -> tuple[np.ndarray, dict[str, Any] | None]:
    if isinstance(value, dict):
        value = matrix_from_config(value, field)
    if isinstance(value, MatrixBuilder):
        mat, cfg = value.build(eig, basis, m, seed), value.to_config()
    else:
        mat, cfg = np.asarray(value, dtype=float), None
    if mat.shape != (d, m):
        raise ConfigError(field, f"has shape {mat.shape}, expected ({d}, {m})")
    if not np.all(np.isfinite(mat)):
        raise ConfigError(field, "contains NaN or infinite entries")
    return mat, cfg


def _check_dim(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(field, f"must be a positive integer, got {value!r}")
    return int(value)


# ---------------------------------------------------------------------------------- problem
@register("problem", "matrix_regression", eigenvalues="spectrum", target="matrix",
          w0="matrix")
@dataclasses.dataclass(frozen=True, eq=False)
class MatrixRegression(SpectralCovariance):
    """Streaming matrix least squares y = W*^T x + eps, x ~ N(0, K) in R^d, y in R^m.

    Args:
        d: input dimension (W is d x m).
        m: output dimension.
        eigenvalues: K's spectrum, length d (default: isotropic, all ones); e.g.
            ``spectra.power_law(d, alpha)`` for lambda_j = j^(-2 alpha).
        basis: ``"haar"`` (default: a Haar-random orthogonal Q from ``basis_seed``, the generic
            case), ``"identity"`` or None (axis-aligned), or an explicit orthogonal d x d matrix
            whose columns are the eigenvectors.
        target: W*: an array (d, m), a builder (:class:`PowerLawTarget`, :class:`RandomTarget`,
            :class:`ZeroTarget`) or its config dict (default: zeros).
        w0: the start W0, same forms (default: zeros).
        sigma: standard deviation of the Gaussian output noise (>= 0).
        normalize_by_m: divide the per-sample loss, the risk and the gradient by m.
        basis_seed: seed of the Haar basis. seed: seed of the target (and seed + 1 of w0).

    Attributes after construction: ``eigenvalues`` (float64), ``basis`` (None or Q), ``target``
    (W*, float64, original coordinates), ``w0``.
    """

    target_attr = "target"
    start_attr = "w0"
    target_array = "w_star"

    d: int
    m: int
    eigenvalues: Any = None
    basis: Any = "haar"
    target: Any = None
    w0: Any = None
    sigma: float = 0.0
    normalize_by_m: bool = False
    basis_seed: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        d, m = _check_dim("d", self.d), _check_dim("m", self.m)
        set_("d", d)
        set_("m", m)
        eig = np.ones(d) if self.eigenvalues is None else np.asarray(self.eigenvalues, float)
        if eig.shape != (d,):
            raise ConfigError("eigenvalues", f"has shape {eig.shape}, expected ({d},)")
        if not np.all(np.isfinite(eig)) or np.any(eig < 0):
            raise ConfigError("eigenvalues", "must be finite and >= 0 (K is PSD)")
        basis, kind = self.basis, "identity"
        if isinstance(basis, str):
            if basis == "haar":
                basis, kind = haar_orthogonal(d, self.basis_seed), "haar"
            elif basis == "identity":
                basis = None
            else:
                raise ConfigError("basis", f"expected 'haar', 'identity', None or a matrix, "
                                  f"got {basis!r}")
        elif basis is not None:
            basis = np.asarray(basis, dtype=float)
            if basis.shape != (d, d):
                raise ConfigError("basis", f"has shape {basis.shape}, expected ({d}, {d})")
            err = np.abs(basis.T @ basis - np.eye(d)).max()
            if not err < 1e-8:
                raise ConfigError("basis", f"is not orthogonal (max |Q^T Q - I| = {err:.2e})")
            kind = "matrix"
        sigma = self.sigma
        if isinstance(sigma, bool) or not isinstance(
                sigma, int | float | np.integer | np.floating) or not (
                np.isfinite(sigma) and sigma >= 0):
            raise ConfigError("sigma", f"must be a finite number >= 0, got {sigma!r}")
        if not isinstance(self.normalize_by_m, bool):
            raise ConfigError("normalize_by_m", f"must be True or False, got "
                              f"{self.normalize_by_m!r}")
        set_("sigma", float(sigma))
        set_("eigenvalues", eig)
        set_("basis", basis)
        set_("_basis_kind", kind)
        tgt = ZeroTarget() if self.target is None else self.target
        start = ZeroTarget() if self.w0 is None else self.w0
        w_star, tcfg = _as_matrix(tgt, "target", d, m, eig, basis, self.seed)
        w0, scfg = _as_matrix(start, "w0", d, m, eig, basis, self.seed + 1)
        set_("target", w_star)
        set_("w0", w0)
        set_("_target_config", tcfg)
        set_("_start_config", scfg)
        self._warn_zero_start()

    @classmethod
    def power_law(cls, d: int, m: int, alpha: float, beta: float, **kw: Any) -> MatrixRegression:
        """lambda_j = j^(-2 alpha) and W* = Q diag(j^-beta) V (docs/theory/muon.md section 3.1)."""
        from optdyn.problems.spectra import power_law

        return cls(d, m, eigenvalues=power_law(_check_dim("d", d), alpha),
                   target=PowerLawTarget(beta), **kw)

    # ----------------------------------------------------------------- descriptive properties
    @property
    def param_shape(self) -> tuple[int, int]:
        """Shape (d, m) of the parameter W (the engine's ``theta_final`` has dims dim, out)."""
        return (self.d, self.m)

    @property
    def _scale(self) -> float:
        return 1.0 / self.m if self.normalize_by_m else 1.0

    @property
    def noise_second_moment(self) -> float:
        """E||eps||^2 = m sigma^2 (sigma^2 with ``normalize_by_m``): loss = risk + this / 2."""
        return self.sigma**2 * (1.0 if self.normalize_by_m else self.m)

    def modes(self, matrix: np.ndarray) -> np.ndarray:
        """Rows in K's eigenbasis: Q^T M for M of shape (..., d, m)."""
        a = np.asarray(matrix, dtype=float)
        return a if self.basis is None else np.einsum("ij,...jk->...ik", self.basis.T, a)

    def rho(self, w: np.ndarray) -> np.ndarray:
        """Per-mode residual energies rho_j = ||q_j^T (W - W*)||^2, shape (..., d)."""
        e = self.modes(np.asarray(w, dtype=float) - self.target)
        return np.sum(e * e, axis=-1)

    def risk(self, w: np.ndarray) -> np.ndarray:
        """Exact excess risk (1/2) tr(Delta^T K Delta) = (1/2) sum_j lambda_j rho_j (/ m)."""
        return 0.5 * self._scale * (self.rho(w) @ self.eigenvalues)

    def loss(self, w: np.ndarray) -> np.ndarray:
        """Population loss R + m sigma^2 / 2 (R + sigma^2 / 2 with ``normalize_by_m``)."""
        return self.risk(w) + 0.5 * self.noise_second_moment

    @property
    def initial_error_modes(self) -> np.ndarray:
        """Q^T (W0 - W*), the initial error in K's eigenbasis (d, m)."""
        return self.modes(self.w0 - self.target)

    @property
    def rho0(self) -> np.ndarray:
        """rho_j(0) = ||q_j^T (W0 - W*)||^2."""
        return self.rho(self.w0)

    def to_config(self) -> dict[str, Any]:
        """A JSON-serialisable description recorded in every result's attributes."""
        return {
            "problem": "MatrixRegression",
            "d": self.d,
            "m": self.m,
            "basis": self._basis_kind,  # type: ignore[attr-defined]
            "basis_seed": self.basis_seed,
            "seed": self.seed,
            "trace_K": self.trace,
            "op_norm_K": self.op_norm,
            "target": self._target_config,  # type: ignore[attr-defined]
            "w0": self._start_config,  # type: ignore[attr-defined]
            "sigma": self.sigma,
            "normalize_by_m": self.normalize_by_m,
            "initial_risk": self.initial_risk,
            "digest": digest(self.eigenvalues, self.basis, self.target, self.w0),
        }

    # ------------------------------------------------------- what the simulation engine uses
    def engine_key(self) -> tuple:
        """Structure the compiled engine depends on (everything else is an array argument)."""
        return (type(self).__name__, self.d, self.m, self.basis is None, self.sigma > 0)

    def engine_arrays(self, dtype: Any) -> dict[str, jax.Array | None]:
        """Arrays handed to the compiled engine (``theta0`` is the start W0, as the engine
        expects)."""
        f64 = jnp.float64
        return {
            "sqrt_eig": jnp.asarray(np.sqrt(self.eigenvalues), dtype),
            "basis_t": None if self.basis is None else jnp.asarray(self.basis.T, dtype),
            "w_star": jnp.asarray(self.target, dtype),
            "theta0": jnp.asarray(self.w0, dtype),
            "sigma": jnp.asarray(self.sigma, dtype),
            "grad_scale": jnp.asarray(self._scale, dtype),
            "eig64": jnp.asarray(self.eigenvalues, f64),
            "basis64": None if self.basis is None else jnp.asarray(self.basis, f64),
            "w_star64": jnp.asarray(self.target, f64),
            "risk_scale64": jnp.asarray(0.5 * self._scale, f64),
        }

    def draw(self, arrays: dict, key: jax.Array, batch_size: int,
             dtype: Any) -> tuple[jax.Array, jax.Array]:
        """Inputs in the eigenbasis, X = Z diag(lambda^(1/2)) (B, d), and noise Eps (B, m)."""
        kz, ke = jax.random.split(key)
        z = jax.random.normal(kz, (batch_size, self.d), dtype)
        if self.sigma > 0:
            eps = arrays["sigma"] * jax.random.normal(ke, (batch_size, self.m), dtype)
        else:
            eps = jnp.zeros((batch_size, self.m), dtype)
        return z * arrays["sqrt_eig"], eps

    @staticmethod
    def gradient(arrays: dict, params: jax.Array, batch: tuple,
                 per_sample: bool) -> jax.Array | LowRank:
        """Mini-batch gradient G = (1/B) X^T E, E = X (W - W*) - Eps (times 1/m if normalised).

        With ``per_sample`` the B per-sample gradients x_i e_i^T are returned in factored form,
        a :class:`optdyn.optimizers.polar.LowRank` (X, E, 1/B) whose ``dense()`` is G; this is
        what SignSVD's exact low-rank QR path consumes.
        """
        x, eps = batch
        e = x @ (params - arrays["w_star"]) - eps
        if per_sample:
            return LowRank(x, e * arrays["grad_scale"], jnp.asarray(1.0 / x.shape[0], x.dtype))
        return (x.T @ e) * (arrays["grad_scale"] / x.shape[0])

    @staticmethod
    def risk_jax(arrays: dict, params: jax.Array) -> jax.Array:
        """Exact excess risk in float64 of a (float32) iterate, for the engine's checkpoints."""
        e = params.astype(jnp.float64) - arrays["w_star64"]
        if arrays["basis64"] is not None:
            e = arrays["basis64"].T @ e
        return arrays["risk_scale64"] * jnp.sum(arrays["eig64"] * jnp.sum(e * e, axis=-1))

    @staticmethod
    def sq_distance_bound(arrays: dict, params: jax.Array) -> jax.Array:
        """Cheap upper bound (1/2) ||K|| ||W - W*||_F^2 (/ m) >= R, for divergence checks."""
        e = (params - arrays["w_star"]).astype(jnp.float64)
        return arrays["risk_scale64"] * jnp.max(arrays["eig64"]) * jnp.sum(e * e)


def update_direction(problem: Any, arrays: dict, unit: Any, w: jax.Array, key: jax.Array,
                     batch_size: int, state: Any = None) -> Any:
    """The direction U of one update of ``unit`` (an optimizer at lr = 1) from W on a fresh
    batch drawn from ``key``: W' = W - lr U. From a fresh state (``state=None``) it returns U;
    from a given optimizer ``state`` (a momentum buffer) it returns (U, the new state). Float64;
    usable inside ``jit``."""
    x, eps = problem.draw(arrays, key, batch_size, jnp.float64)
    x = problem.rotate(arrays, x)
    grad = problem.gradient(arrays, w, (x, eps), getattr(unit, "per_sample", False))
    if state is None:
        u, _ = unit.update(grad, unit.init(w), w)
        return -u
    u, new = unit.update(grad, state, w)
    return -u, new
