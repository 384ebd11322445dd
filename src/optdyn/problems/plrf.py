"""Power-law random features (PLRF) and their exact reduction to streaming linear regression.

Model (Paquette, Paquette, Xiao, Pennington, "4+3 phases of compute-optimal neural scaling laws",
arXiv 2405.15074, section 2; Kim, Song, Yun, "Scaling laws of signSGD in linear regression",
arXiv 2603.02069; docs/theory/signsgd.md section 10.2): a fresh sample x in R^v has independent
coordinates

    x_j ~ N(0, j^(-2 alpha))          (variance j^(-2 alpha), not standard deviation),

the label is the noiseless target y = <x, b> with b_j = j^(-beta), and the model sees the features
z = W^T x through a fixed Gaussian sketch W in R^(v x d) with i.i.d. N(0, 1/d) entries. Per-sample
loss (1/2)(<z, theta> - y)^2; population loss

    P(theta) = (1/2) E(<W^T x, theta> - <x, b>)^2 = (1/2) (W theta - b)^T Lambda (W theta - b),
    Lambda = diag(j^(-2 alpha)),

finite as v -> infinity iff 2 alpha + 2 beta > 1.

Exact reduction (docs/theory/signsgd.md section 10.3; Xiao et al. arXiv 2411.12135 model (A)): z is
Gaussian with covariance K_f = W^T Lambda W. With theta_opt = K_f^(-1) W^T Lambda b (the population
least-squares fit), the capacity residual xi := <x, b> - <z, theta_opt> = <x, b - W theta_opt> is
jointly Gaussian with z and uncorrelated with it (E[z xi] = W^T Lambda b - K_f theta_opt = 0), hence
independent, with variance

    sigma_xi^2 = b^T Lambda b - theta_opt^T K_f theta_opt = ||Lambda^(1/2) (b - W theta_opt)||^2.

So PLRF is *exactly* streaming linear regression with K = K_f, theta* = theta_opt and Gaussian
label noise of variance sigma_xi^2: the per-sample gradient is
(<z, theta> - y) z = (<z, theta - theta_opt> - xi) z, and

    P(theta) = R(theta) + F_0,   R = (1/2)(theta - theta_opt)^T K_f (theta - theta_opt),
    F_0 = sigma_xi^2 / 2          (the capacity floor of the 4+3 paper).

:class:`PowerLawRandomFeatures` simulates the model in v-space (its risk is P - F_0 from the
v-space formula); :meth:`PowerLawRandomFeatures.reduce` gives the reduced
:class:`~optdyn.problems.LinearRegression`, which both engines accept. With ``stream="features"``
(the default) the reduced problem draws its samples from the very same v-space Gaussians as the
PLRF (for the same key), so the two simulations differ only by rounding.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.lazy import lazy_module
from optdyn._core.registry import register
from optdyn._core.spec import remember, to_spec
from optdyn.noise import Gaussian
from optdyn.problems.base import Problem
from optdyn.problems.linear_regression import LinearRegression

linalg = lazy_module("scipy.linalg")

__all__ = ["PowerLawRandomFeatures", "ReducedPLRF"]

_STREAMS = ("features", "gaussian")


def _check_int(field: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ConfigError(field, f"must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_float(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ConfigError(field, f"must be a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ConfigError(field, f"must be finite, got {value!r}")
    return out


@register("problem", "plrf")
@dataclasses.dataclass(frozen=True, eq=False)
class PowerLawRandomFeatures(Problem):
    """Power-law random features: x_j ~ N(0, j^(-2 alpha)), y = <x, b>, b_j = j^(-beta), z = W^T x.

    See the module docstring for the model, its population loss and its exact reduction
    (Paquette et al. arXiv 2405.15074; Kim, Song, Yun arXiv 2603.02069; Xiao et al. arXiv
    2411.12135; docs/theory/signsgd.md section 10.2-10.3).

    Args:
        v: input dimension (number of power-law coordinates), v >= d.
        d: number of random features (the model size; theta in R^d).
        alpha: feature (data covariance) decay, alpha >= 0.
        beta: target decay; 2 alpha + 2 beta > 1 (finite population loss as v -> infinity).
        seed: seed of the sketch W (numpy ``default_rng``), i.i.d. N(0, 1/d) entries.
        theta0: starting point (default 0, as in the 4+3 paper).

    Attributes after construction (float64): ``W`` (v, d), ``x_variance`` = j^(-2 alpha),
    ``b``, ``K`` = K_f, ``theta_opt``, ``sigma_xi2``, ``F0`` = sigma_xi^2 / 2, ``theta0``.
    """

    v: int
    d: int
    alpha: float
    beta: float
    seed: int = 0
    theta0: Any = None

    @staticmethod
    def check_exponents(alpha: Any, beta: Any) -> tuple[float, float]:
        """(alpha, beta) as floats, or a ConfigError: alpha >= 0 and 2 alpha + 2 beta > 1."""
        alpha = _check_float("alpha", alpha)
        beta = _check_float("beta", beta)
        if alpha < 0:
            raise ConfigError("alpha", f"must be >= 0, got {alpha}")
        if not 2 * alpha + 2 * beta > 1:
            raise ConfigError("beta", f"need 2 alpha + 2 beta > 1 for a finite population loss "
                              f"(4+3 phases), got alpha = {alpha}, beta = {beta}")
        return alpha, beta

    def __post_init__(self) -> None:
        set_ = lambda k, val: object.__setattr__(self, k, val)  # noqa: E731
        v = _check_int("v", self.v, 1)
        d = _check_int("d", self.d, 1)
        if v < d:
            raise ConfigError("v", f"must be >= d = {d} (K_f = W^T Lambda W is singular for "
                              f"v < d), got {v}")
        alpha, beta = self.check_exponents(self.alpha, self.beta)
        seed = _check_int("seed", self.seed, 0)
        set_("v", v)
        set_("d", d)
        set_("alpha", alpha)
        set_("beta", beta)
        set_("seed", seed)
        j = np.arange(1, v + 1, dtype=float)
        lam = j ** (-2.0 * alpha)
        b = j ** (-beta)
        w = np.random.default_rng(seed).standard_normal((v, d)) / math.sqrt(d)
        # theta_opt from the least-squares problem Lambda^(1/2) W theta ~ Lambda^(1/2) b solved by a
        # reduced QR (conditioned as K_f^(1/2), not as the normal equations' K_f);
        # sigma_xi^2 is its residual norm^2
        a = np.sqrt(lam)[:, None] * w
        rhs = np.sqrt(lam) * b
        q, r = np.linalg.qr(a)
        theta_opt = linalg.solve_triangular(r, q.T @ rhs)
        resid = rhs - a @ theta_opt
        k = a.T @ a
        k = 0.5 * (k + k.T)
        t0 = np.zeros(d) if self.theta0 is None else np.asarray(self.theta0, dtype=float)
        if t0.shape != (d,):
            raise ConfigError("theta0", f"has shape {t0.shape}, expected ({d},)")
        if not np.all(np.isfinite(t0)):
            raise ConfigError("theta0", "contains NaN or infinite entries")
        set_("theta0", t0)
        set_("W", w)
        set_("x_variance", lam)
        set_("b", b)
        set_("K", k)
        set_("theta_opt", theta_opt)
        set_("sigma_xi2", float(resid @ resid))
        set_("_residual_vector", b - w @ theta_opt)  # xi = <x, b - W theta_opt>
        set_("_reduced", {})

    # ---------------------------------------------------------------- descriptive properties
    @property
    def F0(self) -> float:
        """The capacity floor F_0 = sigma_xi^2 / 2 = min_theta P(theta)."""
        return 0.5 * self.sigma_xi2

    @property
    def noise_second_moment(self) -> float:
        """E[xi^2] = sigma_xi^2: the capacity residual plays the part of label noise."""
        return self.sigma_xi2

    @property
    def noise(self) -> Gaussian:
        """The law of the capacity residual xi ~ N(0, sigma_xi^2)."""
        return Gaussian(math.sqrt(self.sigma_xi2))

    @property
    def trace(self) -> float:
        """Tr K_f."""
        return float(np.trace(self.K))

    def population_loss(self, theta: np.ndarray) -> np.ndarray:
        """P(theta) = (1/2) sum_j j^(-2 alpha) ((W theta)_j - b_j)^2 (v-space formula), batched."""
        u = np.asarray(theta, dtype=float) @ self.W.T - self.b
        return 0.5 * np.sum(self.x_variance * u * u, axis=-1)

    def risk(self, theta: np.ndarray) -> np.ndarray:
        """Excess risk R = P(theta) - F_0 (equal to (1/2)(theta - theta_opt)^T K_f (...))."""
        return self.population_loss(theta) - self.F0

    def loss(self, theta: np.ndarray) -> np.ndarray:
        """Population loss P = R + F_0."""
        return self.population_loss(theta)

    @property
    def initial_risk(self) -> float:
        """R(theta0)."""
        return float(self.risk(self.theta0))

    def sample(self, key: jax.Array, batch_size: int,
               dtype: Any = jnp.float32) -> tuple[jax.Array, jax.Array]:
        """One batch: features z (B, d) and labels y (B,) from a JAX key."""
        arrays = self.engine_arrays(dtype)
        x, y = self.draw(arrays, key, batch_size, dtype)
        return self.rotate(arrays, x), y

    def reduce(self, stream: str = "features") -> LinearRegression:
        """The exactly equivalent :class:`LinearRegression` (docs/theory/signsgd.md section 10.3).

        K = K_f, theta* = theta_opt, noise = Gaussian(sigma_xi), same theta0. With
        ``stream="features"`` (default) a :class:`ReducedPLRF` whose samples come from the same
        v-space Gaussians as this problem's (same key -> same z, and xi = y - <z, theta_opt>), so
        a simulation of it equals the PLRF simulation up to rounding; with ``stream="gaussian"``
        a plain LinearRegression that samples z ~ N(0, K_f) and xi independently in d dimensions
        (same law, cheaper, different random stream).
        """
        if stream not in _STREAMS:
            raise ConfigError("stream", f"expected one of {_STREAMS}, got {stream!r}")
        if stream not in self._reduced:  # type: ignore[attr-defined]
            kw = dict(covariance=self.K, theta_star=self.theta_opt, theta0=self.theta0,
                      noise=self.noise)
            out = ReducedPLRF(source=self, **kw) if stream == "features" else LinearRegression(**kw)
            remember(out, {"kind": "plrf_reduced", "problem": to_spec(self), "stream": stream})
            self._reduced[stream] = out  # type: ignore[attr-defined]
        return self._reduced[stream]  # type: ignore[attr-defined]

    def to_config(self) -> dict[str, Any]:
        """A JSON-serialisable description (recorded in every result's attributes)."""
        h = hashlib.sha256(np.ascontiguousarray(self.W).tobytes()).hexdigest()[:16]
        return {
            "problem": "PowerLawRandomFeatures",
            "v": self.v,
            "d": self.d,
            "alpha": self.alpha,
            "beta": self.beta,
            "seed": self.seed,
            "x_variance": "j^(-2 alpha)",
            "target": "b_j = j^(-beta)",
            "sketch": "W_ij ~ N(0, 1/d)",
            "sigma_xi2": self.sigma_xi2,
            "F0": self.F0,
            "initial_risk": self.initial_risk,
            "digest": h,
        }

    # ------------------------------------------------------- what the simulation engine uses
    def engine_key(self) -> tuple:
        """Compiled-code cache key (shapes only: every array is an argument)."""
        return (type(self).__name__, self.v, self.d)

    def engine_arrays(self, dtype: Any) -> dict[str, jax.Array]:
        """Arrays handed to the compiled engine (sketch, spectrum, target; float64 risk data)."""
        f64 = jnp.float64
        return {
            "sqrt_var": jnp.asarray(np.sqrt(self.x_variance), dtype),
            "W": jnp.asarray(self.W, dtype),
            "b": jnp.asarray(self.b, dtype),
            "theta0": jnp.asarray(self.theta0, dtype),
            "W64": jnp.asarray(self.W, f64),
            "b64": jnp.asarray(self.b, f64),
            "var64": jnp.asarray(self.x_variance, f64),
            "F0": jnp.asarray(self.F0, f64),
            "theta_opt": jnp.asarray(self.theta_opt, dtype),
            "k_op": jnp.asarray(np.linalg.eigvalsh(self.K).max(), f64),
        }

    @staticmethod
    def _draw_x(arrays: dict, key: jax.Array, batch_size: int, dtype: Any) -> jax.Array:
        v = arrays["sqrt_var"].shape[0]
        return jax.random.normal(key, (batch_size, v), dtype) * arrays["sqrt_var"]

    def draw(self, arrays: dict, key: jax.Array, batch_size: int,
             dtype: Any) -> tuple[jax.Array, jax.Array]:
        """v-space inputs x = diag(j^(-alpha)) g, g ~ N(0, I_v) from ``key``, and y = <x, b>."""
        x = self._draw_x(arrays, key, batch_size, dtype)
        return x, x @ arrays["b"]

    @staticmethod
    def rotate(arrays: dict, x: jax.Array) -> jax.Array:
        """Features z = W^T x of v-space inputs (rows; one matrix product per block)."""
        shape = x.shape
        return (x.reshape(-1, shape[-1]) @ arrays["W"]).reshape(shape[:-1] + (-1,))

    @staticmethod
    def gradient(arrays: dict, params: jax.Array, batch: tuple, per_sample: bool) -> jax.Array:
        """Mean mini-batch gradient (1/B) sum_i (<z_i, theta> - y_i) z_i, or per-sample rows."""
        z, y = batch
        r = z @ params - y
        if per_sample:
            return r[:, None] * z
        return (r @ z) / z.shape[0]

    @staticmethod
    def risk_jax(arrays: dict, params: jax.Array) -> jax.Array:
        """R = P - F_0 in float64 from the v-space formula of P."""
        u = params.astype(jnp.float64) @ arrays["W64"].T - arrays["b64"]
        return 0.5 * jnp.sum(arrays["var64"] * u * u, axis=-1) - arrays["F0"]

    @staticmethod
    def sq_distance_bound(arrays: dict, params: jax.Array) -> jax.Array:
        """(1/2) ||K_f|| ||theta - theta_opt||^2 >= R, for the engine's divergence check."""
        e = (params - arrays["theta_opt"]).astype(jnp.float64)
        return 0.5 * arrays["k_op"] * jnp.sum(e * e, axis=-1)


@dataclasses.dataclass(frozen=True, eq=False)
class ReducedPLRF(LinearRegression):
    """The reduced LinearRegression of a PLRF that samples through the PLRF's own v-space stream.

    A :class:`LinearRegression` (K = K_f, theta* = theta_opt, noise = Gaussian(sigma_xi)) for the
    theory engine and for every other use; for the simulation engine its ``draw`` maps the same
    Gaussian g ~ N(0, I_v) as :meth:`PowerLawRandomFeatures.draw` to the features z = W^T x and
    the residual xi = <x, b - W theta_opt> = y - <z, theta_opt>, so that its gradient
    (<z, theta - theta_opt> - xi) z and its risk (1/2)(theta - theta_opt)^T K_f (...) are the
    PLRF's, evaluated by the reduced formulas (docs/theory/signsgd.md section 10.3).
    """

    source: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.source, PowerLawRandomFeatures):
            raise ConfigError("source", "expected the PowerLawRandomFeatures being reduced")
        super().__post_init__()

    def to_config(self) -> dict[str, Any]:
        out = super().to_config()
        out["reduced_from"] = self.source.to_config()
        return out

    def engine_key(self) -> tuple:
        return (type(self).__name__, self.source.v, self.d)

    def engine_arrays(self, dtype: Any) -> dict[str, jax.Array | None]:
        out = super().engine_arrays(dtype)
        src = self.source
        out.update(
            sqrt_var=jnp.asarray(np.sqrt(src.x_variance), dtype),
            W=jnp.asarray(src.W, dtype),
            resid=jnp.asarray(src._residual_vector, dtype),
        )
        return out

    def draw(self, arrays: dict, key: jax.Array, batch_size: int,
             dtype: Any) -> tuple[jax.Array, jax.Array]:
        """v-space inputs x (as the PLRF draws them) and the residual xi = <x, b - W theta_opt>."""
        x = PowerLawRandomFeatures._draw_x(arrays, key, batch_size, dtype)
        return x, x @ arrays["resid"]

    def rotate(self, arrays: dict, x: jax.Array) -> jax.Array:
        """Features z = W^T x."""
        return PowerLawRandomFeatures.rotate(arrays, x)


@register("problem", "plrf_reduced", problem="problem")
def reduced_plrf(problem: PowerLawRandomFeatures, stream: str = "features") -> LinearRegression:
    """The reduction of a PLRF given by its spec (``{ kind = "plrf_reduced", problem = { kind =
    "plrf", v = ..., d = ..., alpha = ..., beta = ... }, stream = "gaussian" }``): what
    :meth:`PowerLawRandomFeatures.reduce` returns, and the spec it records."""
    if not isinstance(problem, PowerLawRandomFeatures):
        raise ConfigError("problem", "expected a { kind = \"plrf\", ... } table")
    return problem.reduce(stream)
