"""Label-noise laws for streaming linear regression y = <x, theta*> + eps.

Each law is an immutable, hashable frozen dataclass deriving from :class:`NoiseLaw`. A law does
two jobs:

* simulation: :meth:`NoiseLaw.sample` draws eps with ``jax.random`` (pure JAX, so it can be
  jitted and vmapped; the law's parameters are plain Python floats);
* theory: NumPy float64 functions of the law that the exact dynamics need -- the moments
  (``mean``, ``variance``, ``second_moment`` = E[eps^2]), ``pdf``/``cdf``, the atoms of a discrete
  law, ``density_at_zero`` (p_eps(0), which enters signSGD's theory), and the densities and
  distribution functions of the Gaussian-smoothed noise eps + s Z, Z ~ N(0, 1) independent
  (``smoothed_pdf``/``smoothed_cdf``).

Smoothed quantities have closed forms for every law except the Student t family, which uses
adaptive quadrature split around the peaks of both factors (and decade by decade along the heavy
tails) so that it stays accurate for Cauchy tails and for tiny s. The closed forms are written
to avoid overflow: exp of a large argument is always paired with the matching Gaussian tail
through the scaled complementary error function ``erfcx``.

Laws are built directly (``Gaussian(0.5)``) or from a config mapping with :func:`from_config`
(``{"law": "gaussian", "std": 0.5}``); :meth:`NoiseLaw.to_config` gives the mapping back.

A scale-type parameter of 0 (``Gaussian(0.0)``, ``Laplace(0.0)``, ...) gives the point mass at 0:
such a law reports ``is_discrete`` True and behaves like :class:`NoNoise`.
"""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt

from optdyn._core.errors import ConfigError
from optdyn._core.lazy import lazy_module
from optdyn._core.registry import register
from optdyn._core.spec import build

integrate = lazy_module("scipy.integrate")
special = lazy_module("scipy.special")

__all__ = [
    "NoiseLaw",
    "Gaussian",
    "StudentT",
    "Cauchy",
    "Laplace",
    "Uniform",
    "Rademacher",
    "SparseRademacher",
    "CenteredExponential",
    "GaussianMixture",
    "NoNoise",
    "from_config",
]

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)
_INV_SQRT2PI = 1.0 / _SQRT2PI
_MIXTURE_SUM_TOL = 1e-9
_QUAD_RTOL = 1e-11
_QUAD_LIMIT = 200


# ---------------------------------------------------------------------------------------------
# validation helpers


def _real(field: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ConfigError(field, f"must be a real number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ConfigError(field, f"must be a real number, got {value!r}") from None
    return out


def _nonneg(obj: Any, field: str) -> None:
    value = _real(field, getattr(obj, field))
    if not (math.isfinite(value) and value >= 0.0):
        raise ConfigError(field, f"must be finite and >= 0, got {value!r}")
    object.__setattr__(obj, field, value)


def _positive(obj: Any, field: str) -> None:
    value = _real(field, getattr(obj, field))
    if not (math.isfinite(value) and value > 0.0):
        raise ConfigError(field, f"must be finite and > 0, got {value!r}")
    object.__setattr__(obj, field, value)


def _check_s(s: Any) -> float:
    value = _real("s", s)
    if not (math.isfinite(value) and value > 0.0):
        raise ConfigError("s", f"smoothing scale must be finite and > 0, got {value!r}")
    return value


def _shape(shape: int | tuple[int, ...] | Any) -> tuple[int, ...]:
    if isinstance(shape, int):
        return (shape,)
    return tuple(int(d) for d in shape)


def _check_dtype(dtype: Any) -> None:
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"noise samples need a floating dtype, got {dtype!r}")


def _out(a: FloatArray) -> FloatArray | np.float64:
    """0-d results come back as NumPy float64 scalars, others as float64 arrays."""
    a = np.asarray(a, dtype=np.float64)
    return a[()] if a.ndim == 0 else a


# ---------------------------------------------------------------------------------------------
# numerical building blocks (float64 NumPy)


def _phi(z: FloatArray) -> FloatArray:
    return np.exp(-0.5 * z * z) * _INV_SQRT2PI


def _emg_tail_factor(t: FloatArray, beta: float, s: float) -> FloatArray:
    """A(t) = exp(s^2/(2 beta^2) - t/beta) Phi(t/s - s/beta), without overflow.

    A(t) / beta is the density at t of beta*E + s*Z (E ~ Exp(1), Z ~ N(0, 1)). For v = t/s - s/beta
    < 0 the identity Phi(v) = erfcx(-v/sqrt 2) exp(-v^2/2) / 2 turns the product into
    exp(-t^2/(2 s^2)) erfcx(-v/sqrt 2) / 2, whose factors are both <= 1; for v >= 0 the exponent
    s^2/(2 beta^2) - t/beta is <= -s^2/(2 beta^2) <= 0.
    """
    w = t / s
    v = w - s / beta
    out = np.empty_like(t)
    neg = v < 0
    vn = v[neg]
    out[neg] = 0.5 * np.exp(-0.5 * w[neg] ** 2) * special.erfcx(-vn / _SQRT2)
    vp = v[~neg]
    out[~neg] = np.exp(0.5 * (s / beta) ** 2 - t[~neg] / beta) * special.ndtr(vp)
    return out


def _emg_pdf(t: FloatArray, beta: float, s: float) -> FloatArray:
    """Density of beta*E + s*Z at t (exponentially modified Gaussian)."""
    return _emg_tail_factor(t, beta, s) / beta


def _emg_cdf(t: FloatArray, beta: float, s: float) -> FloatArray:
    """P(beta*E + s*Z <= t) = Phi(t/s) - A(t), with relative accuracy in the left tail.

    For w = t/s < 0 both terms share the factor exp(-w^2/2)/2, leaving
    erfcx(-w/sqrt 2) - erfcx(-v/sqrt 2) with v = w - s/beta < w, a difference of two positive
    numbers of moderate size (no underflow of either term before the subtraction).
    """
    w = t / s
    out = np.empty_like(t)
    neg = w < 0
    wn = w[neg]
    vn = wn - s / beta
    out[neg] = (
        0.5 * np.exp(-0.5 * wn * wn) * (special.erfcx(-wn / _SQRT2) - special.erfcx(-vn / _SQRT2))
    )
    out[~neg] = special.ndtr(w[~neg]) - _emg_tail_factor(t[~neg], beta, s)
    return np.clip(out, 0.0, 1.0)


def _emg_sf(t: FloatArray, beta: float, s: float) -> FloatArray:
    """P(beta*E + s*Z > t) = Phi(-t/s) + A(t) (a sum of positive terms)."""
    return np.clip(special.ndtr(-t / s) + _emg_tail_factor(t, beta, s), 0.0, 1.0)


def _gauss_mix_pdf(
    x: FloatArray, weights: FloatArray, means: FloatArray, stds: FloatArray
) -> FloatArray:
    z = (x[..., None] - means) / stds
    return np.sum(weights * _phi(z) / stds, axis=-1)


def _gauss_mix_cdf(
    x: FloatArray, weights: FloatArray, means: FloatArray, stds: FloatArray
) -> FloatArray:
    z = (x[..., None] - means) / stds
    return np.clip(np.sum(weights * special.ndtr(z), axis=-1), 0.0, 1.0)


def _quad(
    f: Callable[[float], float], lo: float, hi: float, atol: float
) -> tuple[float, float, bool]:
    """One adaptive Gauss-Kronrod integral: (value, error estimate, whether QUADPACK complained).

    A half-infinite range starting at a finite end c is rescaled to unit scale, e = c +- |c| w
    with w in [0, inf): QUADPACK's own map of an infinite range assumes features at scale ~1 and
    misses an algebraic tail that only starts decaying at |e| ~ |c| >> 1.
    """
    if math.isinf(lo) != math.isinf(hi):
        end = hi if math.isinf(lo) else lo
        scale = max(abs(end), 1e-300)
        step = -scale if math.isinf(lo) else scale

        def g(w: float) -> float:
            return scale * f(end + step * w)

        a, b = 0.0, math.inf
    else:
        g, a, b = f, lo, hi
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", integrate.IntegrationWarning)
        val, err = integrate.quad(g, a, b, epsabs=atol, epsrel=_QUAD_RTOL, limit=_QUAD_LIMIT)
    return val, err, any(issubclass(w.category, integrate.IntegrationWarning) for w in caught)


def _convolve_quad(
    p: Callable[[float], float],
    k: Callable[[float], float],
    x: float,
    s: float,
    width: float,
) -> float:
    """Integral over the real line of p(e) k(x - e) de for nonnegative p and k.

    p has its peak at e = 0 with width ``width`` (and possibly heavy tails); k has its feature
    (Gaussian bump or step) at u = x - e = 0 with width s. The line is cut at e = x, x +- 10 s
    and at e = 0, +-width, +-10 width, +-100 width, ... out to beyond 10 |x| into finite pieces
    plus two infinite tails, each integrated by adaptive quadrature. A piece next
    to the k-feature is integrated in the offset u = x - e, so that its nodes resolve the scale s
    exactly even when s is far below the spacing of floats near x (tiny s); a piece next to the
    p-peak is integrated in e itself.

    Pieces are first integrated to a pure relative tolerance; a piece on which QUADPACK reports
    trouble (typically roundoff where the integrand is negligible) is redone with an absolute
    tolerance of 1e-13 times the first-pass total, a lower bound of the answer since the
    integrand is >= 0. If that still fails on a piece whose value or error estimate is above
    1e-16 of the total, an ``IntegrationWarning`` is issued.
    """
    # breakpoints as (e, u, anchored_at_k): e-coordinate and u-coordinate, each exact in its own
    # frame (the other one is rounded)
    bps = [(x + d, -d, True) for d in (-10.0 * s, 0.0, 10.0 * s)]
    # p-breakpoints 0, +-width * 10^k out to 10 (|x| + 10 s + 10 width): an algebraic tail is
    # then integrated one decade at a time instead of over many decades in one piece
    reach = min(10.0 * (abs(x) + 10.0 * s + 10.0 * width), 1e300)
    d = width
    bps.append((0.0, x, False))
    while True:
        bps += [(-d, x + d, False), (d, x - d, False)]
        if d >= reach:
            break
        d *= 10.0
    bps.sort(key=lambda b: (b[0], -b[1]))
    inf = math.inf
    nodes = [(-inf, inf, bps[0][2]), *bps, (inf, -inf, bps[-1][2])]
    k_first = s <= width  # anchor for pieces between a k-breakpoint and a p-breakpoint

    def in_u(u: float) -> float:
        return p(x - u) * k(u)

    def in_e(e: float) -> float:
        return p(e) * k(x - e)

    pieces: list[tuple[Callable[[float], float], float, float]] = []
    for (e0, u0, k0), (e1, u1, k1) in zip(nodes[:-1], nodes[1:], strict=True):
        use_u = k0 if k0 == k1 else k_first
        if use_u and u1 < u0:
            pieces.append((in_u, u1, u0))
        elif not use_u and e0 < e1:
            pieces.append((in_e, e0, e1))
    values: list[float] = []
    retry: list[int] = []
    for i, (f, lo, hi) in enumerate(pieces):
        val, _, bad = _quad(f, lo, hi, 0.0)
        values.append(val)
        if bad:
            retry.append(i)
    if retry:
        atol = 1e-13 * abs(math.fsum(values))
        for i in retry:
            f, lo, hi = pieces[i]
            values[i], err, bad = _quad(f, lo, hi, atol)
            if bad and max(abs(values[i]), err) > 1e-3 * atol:  # only if the piece matters
                warnings.warn(
                    "quadrature for a smoothed noise density or cdf may be inaccurate on the "
                    f"piece [{lo:g}, {hi:g}]",
                    integrate.IntegrationWarning,
                    stacklevel=2,
                )
    return math.fsum(values)


# ---------------------------------------------------------------------------------------------
# base class


class NoiseLaw(ABC):
    """A law of the label noise eps in y = <x, theta*> + eps (abstract base).

    Every law provides

    * ``sample(key, shape, dtype)``: i.i.d. draws with ``jax.random`` (jit- and vmap-able);
    * ``pdf(x)``, ``cdf(x)``: density and distribution function, NumPy float64, vectorised (a
      scalar in gives a NumPy float64 scalar out). Discrete laws (those with atoms, see
      ``is_discrete`` and ``atoms()``) have no density: their ``pdf`` raises ``TypeError`` and
      their ``cdf`` is the right-continuous step function F(x) = sum_{v_i <= x} p_i;
    * ``mean``, ``variance``, ``second_moment`` = E[eps^2] = variance + mean^2 (``math.inf``
      where infinite, ``math.nan`` for an undefined mean);
    * ``density_at_zero()`` = p_eps(0) (continuous laws only);
    * ``smoothed_pdf(x, s)``, ``smoothed_cdf(x, s)``: density and distribution function of
      eps + s Z with Z ~ N(0, 1) independent of eps and s > 0, i.e.
      ``smoothed_pdf(x, s) = E[phi((x - eps)/s)] / s`` and
      ``smoothed_cdf(x, s) = E[Phi((x - eps)/s)]``;
    * ``to_config()``: a plain mapping that :func:`from_config` turns back into an equal law.
    """

    _law_name: ClassVar[str]

    # -- simulation ---------------------------------------------------------------------------

    @abstractmethod
    def sample(
        self, key: jax.Array, shape: int | tuple[int, ...], dtype: Any = jnp.float32
    ) -> jax.Array:
        """Draw an array of i.i.d. noise values of the given shape from a JAX PRNG key."""

    # -- moments ------------------------------------------------------------------------------

    @property
    @abstractmethod
    def mean(self) -> float:
        """E[eps] (``math.nan`` where undefined)."""

    @property
    @abstractmethod
    def variance(self) -> float:
        """Var[eps] (``math.inf`` where infinite)."""

    @property
    def second_moment(self) -> float:
        """E[eps^2] = Var[eps] + E[eps]^2 (``math.inf`` where infinite)."""
        return float(self.variance + self.mean**2)

    # -- atoms --------------------------------------------------------------------------------

    def _is_point_mass(self) -> bool:
        """True for the degenerate member of a continuous family (scale 0): eps = 0 a.s."""
        return False

    @property
    def is_discrete(self) -> bool:
        """Whether the law is purely atomic (then ``atoms()`` is non-empty and no pdf exists)."""
        return self._is_point_mass()

    def atoms(self) -> tuple[FloatArray, FloatArray]:
        """(values, probabilities) of the atoms, values increasing; empty arrays for a law with a
        density."""
        if self._is_point_mass():
            return np.array([0.0]), np.array([1.0])
        return np.zeros(0), np.zeros(0)

    def _no_density(self, what: str) -> TypeError:
        return TypeError(
            f"{self!r} has atoms and no density, so {what} is undefined; use atoms() for the "
            "values and probabilities, cdf() for the step distribution function, or "
            "smoothed_pdf(x, s) for the density of eps + s*Z"
        )

    # -- density and distribution function -----------------------------------------------------

    def pdf(self, x: ArrayLike) -> FloatArray | np.float64:
        """Density p_eps(x) (vectorised, float64); ``TypeError`` for a law with atoms."""
        if self.is_discrete:
            raise self._no_density("pdf")
        return self._apply(self._pdf, x)

    def cdf(self, x: ArrayLike) -> FloatArray | np.float64:
        """Distribution function F(x) = P(eps <= x) (vectorised, float64; right-continuous)."""
        if self.is_discrete:
            values, probs = self.atoms()
            cum = np.concatenate([[0.0], np.cumsum(probs)])
            cum[-1] = 1.0

            def step(xx: FloatArray) -> FloatArray:
                return cum[np.searchsorted(values, xx, side="right")]

            return self._apply(step, x)
        return self._apply(self._cdf, x)

    def density_at_zero(self) -> float:
        """p_eps(0), the noise density at the origin (enters the theory of signSGD)."""
        if self.is_discrete:
            raise self._no_density("density_at_zero")
        return float(self._pdf(np.zeros(1))[0])

    # -- Gaussian smoothing -------------------------------------------------------------------

    def smoothed_pdf(self, x: ArrayLike, s: float) -> FloatArray | np.float64:
        """Density of eps + s*Z at x, Z ~ N(0, 1) independent, s > 0:
        E[phi((x - eps)/s)] / s (vectorised over x, float64)."""
        s = _check_s(s)
        if self.is_discrete:
            values, probs = self.atoms()
            stds = np.full_like(values, s)
            return self._apply(lambda xx: _gauss_mix_pdf(xx, probs, values, stds), x)
        return self._apply(lambda xx: self._smoothed_pdf(xx, s), x)

    def smoothed_cdf(self, x: ArrayLike, s: float) -> FloatArray | np.float64:
        """P(eps + s*Z <= x) = E[Phi((x - eps)/s)], Z ~ N(0, 1) independent, s > 0 (vectorised
        over x, float64)."""
        s = _check_s(s)
        if self.is_discrete:
            values, probs = self.atoms()
            stds = np.full_like(values, s)
            return self._apply(lambda xx: _gauss_mix_cdf(xx, probs, values, stds), x)
        return self._apply(lambda xx: self._smoothed_cdf(xx, s), x)

    # -- config -------------------------------------------------------------------------------

    def to_config(self) -> dict[str, Any]:
        """``{"law": name, **parameters}`` (JSON-friendly: floats and lists of floats), the inverse
        of :func:`from_config`."""
        out: dict[str, Any] = {"law": self._law_name}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    # -- implementation hooks for continuous laws (float64 arrays in, same shape out) ----------

    def _missing(self, what: str) -> TypeError:
        return TypeError(f"{type(self).__name__} defines no {what}")

    def _pdf(self, x: FloatArray) -> FloatArray:
        raise self._missing("density")

    def _cdf(self, x: FloatArray) -> FloatArray:
        raise self._missing("cdf")

    def _smoothed_pdf(self, x: FloatArray, s: float) -> FloatArray:
        raise self._missing("smoothed density")

    def _smoothed_cdf(self, x: FloatArray, s: float) -> FloatArray:
        raise self._missing("smoothed cdf")

    @staticmethod
    def _apply(fn: Callable[[FloatArray], FloatArray], x: ArrayLike) -> FloatArray | np.float64:
        """Evaluate ``fn`` on a float64 1-d copy of x, propagating NaNs, and restore the shape."""
        xa = np.asarray(x, dtype=np.float64)
        flat = xa.reshape(-1)
        nan = np.isnan(flat)
        with np.errstate(over="ignore", under="ignore"):  # exp(-inf) = 0 is the right answer
            res = np.asarray(fn(np.where(nan, 0.0, flat)), dtype=np.float64)
        res = np.where(nan, np.nan, res)
        return _out(res.reshape(xa.shape))


# ---------------------------------------------------------------------------------------------
# continuous laws


class _CenteredScaleLaw(NoiseLaw):
    """A centred law with one scale parameter (named by ``_scale_field``): the scale must be
    >= 0, scale 0 is the point mass at 0, and the mean is 0."""

    _scale_field: ClassVar[str] = "scale"

    def __post_init__(self) -> None:
        _nonneg(self, self._scale_field)

    def _is_point_mass(self) -> bool:
        return getattr(self, self._scale_field) == 0.0

    @property
    def mean(self) -> float:
        """0."""
        return 0.0


@register("noise", "gaussian")
@dataclass(frozen=True)
class Gaussian(_CenteredScaleLaw):
    """Gaussian noise eps ~ N(0, std^2).

    Density exp(-x^2/(2 std^2)) / (std sqrt(2 pi)); variance std^2. ``std = 0`` is the point mass
    at 0. Smoothing is exact: eps + s Z ~ N(0, std^2 + s^2).
    """

    std: float

    _scale_field: ClassVar[str] = "std"
    _law_name: ClassVar[str] = "gaussian"

    def sample(
        self, key: jax.Array, shape: int | tuple[int, ...], dtype: Any = jnp.float32
    ) -> jax.Array:
        """eps = std * N(0, 1)."""
        _check_dtype(dtype)
        return self.std * jax.random.normal(key, _shape(shape), dtype)

    @property
    def variance(self) -> float:
        """std^2."""
        return self.std**2

    def _pdf(self, x: FloatArray) -> FloatArray:
        return _phi(x / self.std) / self.std

    def _cdf(self, x: FloatArray) -> FloatArray:
        return special.ndtr(x / self.std)

    def _smoothed_pdf(self, x: FloatArray, s: float) -> FloatArray:
        sd = math.hypot(self.std, s)
        return _phi(x / sd) / sd

    def _smoothed_cdf(self, x: FloatArray, s: float) -> FloatArray:
        return special.ndtr(x / math.hypot(self.std, s))


@register("noise", "student_t")
@dataclass(frozen=True)
class StudentT(NoiseLaw):
    """Scaled Student t noise eps = scale * T_df.

    Density Gamma((df+1)/2) / (scale sqrt(df pi) Gamma(df/2)) * (1 + x^2/(df scale^2))^(-(df+1)/2).
    Variance scale^2 df/(df - 2) for df > 2 and ``math.inf`` for df <= 2; the mean is 0 for df > 1
    and undefined (``math.nan``) for df <= 1, where ``second_moment`` is still ``math.inf``.
    ``df = 1`` is the Cauchy law (see :func:`Cauchy`); ``scale = 0`` is the point mass at 0.

    The smoothed density and distribution function have no closed form and are computed by
    adaptive quadrature of p_eps(e) phi_s(x - e) (resp. p_eps(e) Phi((x - e)/s)) over e, split at
    x, x +- 10 s (pieces there integrated in the offset x - e, so tiny s is resolved exactly),
    0, +- scale, +- 10 scale, +- 100 scale, ... out to beyond 10 |x|, with the two tails to
    +- infinity integrated separately after rescaling; the cdf is evaluated for x <= 0 and
    reflected (the law is symmetric). Cauchy agrees with ``scipy.special.voigt_profile`` to
    ~1e-15 relative for s from 1e-12 to 1e3. Cost: about 1-5 ms per point.
    """

    df: float
    scale: float = 1.0

    _law_name: ClassVar[str] = "student_t"

    def __post_init__(self) -> None:
        _positive(self, "df")
        _nonneg(self, "scale")

    def _is_point_mass(self) -> bool:
        return self.scale == 0.0

    def sample(
        self, key: jax.Array, shape: int | tuple[int, ...], dtype: Any = jnp.float32
    ) -> jax.Array:
        """eps = scale * T with T ~ Student t(df) (``jax.random.t``, a normal over the root of a
        scaled Gamma draw; for df = 1 the cheaper exact ``jax.random.cauchy``)."""
        _check_dtype(dtype)
        if self.df == 1.0:
            return self.scale * jax.random.cauchy(key, _shape(shape), dtype)
        return self.scale * jax.random.t(key, self.df, _shape(shape), dtype)

    @property
    def mean(self) -> float:
        """0 for df > 1, undefined (``math.nan``) for df <= 1."""
        return 0.0 if self.df > 1.0 or self.scale == 0.0 else math.nan

    @property
    def variance(self) -> float:
        """scale^2 df/(df - 2) for df > 2, ``math.inf`` otherwise."""
        if self.scale == 0.0:
            return 0.0
        return self.scale**2 * self.df / (self.df - 2.0) if self.df > 2.0 else math.inf

    @property
    def second_moment(self) -> float:
        """E[eps^2]: the variance for df > 2, ``math.inf`` otherwise."""
        return self.variance

    def _log_norm(self) -> float:
        df = self.df
        return float(
            special.gammaln(0.5 * (df + 1.0))
            - special.gammaln(0.5 * df)
            - 0.5 * math.log(df * math.pi)
            - math.log(self.scale)
        )

    def _pdf(self, x: FloatArray) -> FloatArray:
        df = self.df
        t = np.abs(x) / self.scale
        with np.errstate(over="ignore"):
            # log(1 + t^2/df); for huge t use 2 log t - log df to avoid t^2 overflowing
            big = t > 1e100
            tt = np.where(big, 1.0, t)
            log_term = np.where(big, 2.0 * np.log(np.where(big, t, 1.0)) - math.log(df), 0.0)
            log_term = np.where(big, log_term, np.log1p(tt * tt / df))
        return np.exp(self._log_norm() - 0.5 * (df + 1.0) * log_term)

    def _cdf(self, x: FloatArray) -> FloatArray:
        return special.stdtr(self.df, x / self.scale)

    def _scalar_pdf(self) -> Callable[[float], float]:
        c = self._log_norm()
        df, scale = self.df, self.scale
        half = 0.5 * (df + 1.0)

        def p(e: float) -> float:
            t = e / scale
            return math.exp(c - half * math.log1p(t * t / df)) if abs(t) < 1e150 else 0.0

        return p

    def _smoothed_pdf(self, x: FloatArray, s: float) -> FloatArray:
        p = self._scalar_pdf()
        norm = _INV_SQRT2PI / s

        def kernel(u: float) -> float:
            z = u / s
            return math.exp(-0.5 * z * z) * norm

        # symmetric law: evaluate at |x|
        return np.array([_convolve_quad(p, kernel, float(v), s, self.scale) for v in np.abs(x)])

    def _smoothed_cdf(self, x: FloatArray, s: float) -> FloatArray:
        p = self._scalar_pdf()
        inv = 1.0 / (s * _SQRT2)

        def kernel(u: float) -> float:
            return 0.5 * math.erfc(-u * inv)  # Phi(u/s)

        def left(v: float) -> float:
            # P(eps + sZ <= v) = integral of p(e) Phi((v - e)/s) de, used for v <= 0 only
            return _convolve_quad(p, kernel, v, s, self.scale)

        out = [left(v) if v <= 0.0 else 1.0 - left(-v) for v in map(float, x)]
        return np.clip(np.array(out), 0.0, 1.0)


@register("noise", "cauchy")
def Cauchy(scale: float = 1.0) -> StudentT:
    """Cauchy noise: ``StudentT(1.0, scale)``, density scale / (pi (scale^2 + x^2)).

    Mean undefined (``math.nan``), variance and second moment ``math.inf``.
    """
    return StudentT(1.0, scale)


@register("noise", "laplace")
@dataclass(frozen=True)
class Laplace(_CenteredScaleLaw):
    """Laplace (double-exponential) noise with density exp(-|x|/scale) / (2 scale).

    Variance 2 scale^2. ``scale = 0`` is the point mass at 0. Being the symmetric mixture of
    +-scale*E, E ~ Exp(1), its Gaussian smoothing is the average of two exponentially modified
    Gaussians:
    (1/(4 scale)) exp(s^2/(2 scale^2)) [exp(-x/scale) erfc((s^2/scale - x)/(s sqrt 2))
    + exp(x/scale) erfc((s^2/scale + x)/(s sqrt 2))], evaluated through ``erfcx`` so that it
    neither overflows for large s/scale nor loses the tails for small s.
    """

    scale: float

    _law_name: ClassVar[str] = "laplace"

    def sample(
        self, key: jax.Array, shape: int | tuple[int, ...], dtype: Any = jnp.float32
    ) -> jax.Array:
        """eps = scale * L with L standard Laplace (``jax.random.laplace``)."""
        _check_dtype(dtype)
        return self.scale * jax.random.laplace(key, _shape(shape), dtype)

    @property
    def variance(self) -> float:
        """2 scale^2."""
        return 2.0 * self.scale**2

    def _pdf(self, x: FloatArray) -> FloatArray:
        b = self.scale
        return np.exp(-np.abs(x) / b) / (2.0 * b)

    def _cdf(self, x: FloatArray) -> FloatArray:
        half_tail = 0.5 * np.exp(-np.abs(x) / self.scale)
        return np.where(x < 0.0, half_tail, 1.0 - half_tail)

    def _smoothed_pdf(self, x: FloatArray, s: float) -> FloatArray:
        b = self.scale
        return 0.5 * (_emg_pdf(x, b, s) + _emg_pdf(-x, b, s))

    def _smoothed_cdf(self, x: FloatArray, s: float) -> FloatArray:
        # P(bE + sZ <= x)/2 + P(-bE + sZ <= x)/2 and P(-bE + sZ <= x) = P(bE + sZ' > -x)
        b = self.scale
        return np.clip(0.5 * (_emg_cdf(x, b, s) + _emg_sf(-x, b, s)), 0.0, 1.0)


@register("noise", "uniform")
@dataclass(frozen=True)
class Uniform(_CenteredScaleLaw):
    """Uniform noise eps ~ U[-half_width, half_width].

    Density 1/(2 half_width) on [-half_width, half_width]; variance half_width^2 / 3.
    ``half_width = 0`` is the point mass at 0. Smoothed density
    (Phi((x + a)/s) - Phi((x - a)/s)) / (2a) with a = half_width; smoothed cdf
    (s/(2a)) [Psi((x + a)/s) - Psi((x - a)/s)] with Psi(w) = w Phi(w) + phi(w).
    """

    half_width: float

    _scale_field: ClassVar[str] = "half_width"
    _law_name: ClassVar[str] = "uniform"

    def sample(
        self, key: jax.Array, shape: int | tuple[int, ...], dtype: Any = jnp.float32
    ) -> jax.Array:
        """eps ~ U[-half_width, half_width) (``jax.random.uniform``)."""
        _check_dtype(dtype)
        a = self.half_width
        return jax.random.uniform(key, _shape(shape), dtype, minval=-a, maxval=a)

    @property
    def variance(self) -> float:
        """half_width^2 / 3."""
        return self.half_width**2 / 3.0

    def _pdf(self, x: FloatArray) -> FloatArray:
        a = self.half_width
        return np.where(np.abs(x) <= a, 0.5 / a, 0.0)

    def _cdf(self, x: FloatArray) -> FloatArray:
        a = self.half_width
        return np.clip((x + a) / (2.0 * a), 0.0, 1.0)

    def _smoothed_pdf(self, x: FloatArray, s: float) -> FloatArray:
        # symmetric: with |x| the two Phi's are taken at (a - |x|)/s and (-a - |x|)/s, so a
        # far-tail value is a difference of two small numbers rather than of two numbers near 1
        a = self.half_width
        ax = np.abs(x)
        return (special.ndtr((a - ax) / s) - special.ndtr((-a - ax) / s)) / (2.0 * a)

    def _smoothed_cdf(self, x: FloatArray, s: float) -> FloatArray:
        a = self.half_width

        def psi(w: FloatArray) -> FloatArray:
            # Psi(w) = w Phi(w) + phi(w) = integral of Phi from -inf to w; for w < 0 it is
            # phi(w) (1 + w R(w)) with R(w) = Phi(w)/phi(w) = sqrt(pi/2) erfcx(-w/sqrt 2)
            out = np.empty_like(w)
            neg = w < 0
            wn = w[neg]
            ratio = math.sqrt(math.pi / 2.0) * special.erfcx(-wn / _SQRT2)
            out[neg] = _phi(wn) * np.maximum(1.0 + wn * ratio, 0.0)
            wp = w[~neg]
            out[~neg] = wp * special.ndtr(wp) + _phi(wp)
            return out

        xl = -np.abs(x)  # evaluate on the left half, reflect for x > 0
        left = s / (2.0 * a) * (psi((xl + a) / s) - psi((xl - a) / s))
        return np.clip(np.where(x > 0.0, 1.0 - left, left), 0.0, 1.0)


@register("noise", "centered_exponential")
@dataclass(frozen=True)
class CenteredExponential(_CenteredScaleLaw):
    """Centred (asymmetric) exponential noise eps = scale * (E - 1), E ~ Exp(1).

    Density exp(-(x/scale + 1)) / scale for x >= -scale, 0 below; mean 0, variance scale^2.
    ``scale = 0`` is the point mass at 0. Smoothed density: the exponentially modified Gaussian
    (1/scale) exp(s^2/(2 scale^2) - t/scale) Phi(t/s - s/scale) at t = x + scale, evaluated
    through ``erfcx`` (no overflow for large s/scale, exact tails for small s).
    """

    scale: float

    _law_name: ClassVar[str] = "centered_exponential"

    def sample(
        self, key: jax.Array, shape: int | tuple[int, ...], dtype: Any = jnp.float32
    ) -> jax.Array:
        """eps = scale * (E - 1) with E ~ Exp(1) (``jax.random.exponential``)."""
        _check_dtype(dtype)
        return self.scale * (jax.random.exponential(key, _shape(shape), dtype) - 1.0)

    @property
    def variance(self) -> float:
        """scale^2."""
        return self.scale**2

    def _pdf(self, x: FloatArray) -> FloatArray:
        b = self.scale
        u = x / b + 1.0
        with np.errstate(over="ignore"):
            return np.where(u >= 0.0, np.exp(-np.maximum(u, 0.0)) / b, 0.0)

    def _cdf(self, x: FloatArray) -> FloatArray:
        u = x / self.scale + 1.0
        return np.where(u >= 0.0, -np.expm1(-np.maximum(u, 0.0)), 0.0)

    def _smoothed_pdf(self, x: FloatArray, s: float) -> FloatArray:
        return _emg_pdf(x + self.scale, self.scale, s)

    def _smoothed_cdf(self, x: FloatArray, s: float) -> FloatArray:
        return _emg_cdf(x + self.scale, self.scale, s)


@register("noise", "gaussian_mixture")
@dataclass(frozen=True)
class GaussianMixture(NoiseLaw):
    """Finite Gaussian mixture eps ~ sum_k weights_k N(means_k, stds_k^2).

    Density sum_k w_k phi((x - m_k)/s_k) / s_k; mean sum_k w_k m_k (the mixture need not be
    centred); variance sum_k w_k (s_k^2 + (m_k - mean)^2). Weights must be >= 0 and sum to 1
    (within 1e-9; nothing is renormalised), all three sequences must have the same length and
    stds must be > 0. Parameters are stored as tuples of floats. Smoothing is exact: each
    component's variance grows by s^2.
    """

    weights: tuple[float, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]

    _law_name: ClassVar[str] = "gaussian_mixture"

    def __post_init__(self) -> None:
        cols: dict[str, tuple[float, ...]] = {}
        for name in ("weights", "means", "stds"):
            raw = getattr(self, name)
            if isinstance(raw, str | bytes) or np.ndim(raw) != 1:
                raise ConfigError(name, f"must be a 1-d sequence of numbers, got {raw!r}")
            vals = tuple(_real(name, v) for v in np.asarray(raw, dtype=object).tolist())
            if not all(math.isfinite(v) for v in vals):
                raise ConfigError(name, f"must be finite, got {list(vals)}")
            cols[name] = vals
        k = len(cols["weights"])
        if k == 0:
            raise ConfigError("weights", "needs at least one component")
        for name in ("means", "stds"):
            if len(cols[name]) != k:
                raise ConfigError(
                    name, f"has {len(cols[name])} entries but weights has {k}; lengths must match"
                )
        if any(w < 0.0 for w in cols["weights"]):
            raise ConfigError("weights", f"must be >= 0, got {list(cols['weights'])}")
        total = math.fsum(cols["weights"])
        if abs(total - 1.0) > _MIXTURE_SUM_TOL:
            raise ConfigError(
                "weights", f"must sum to 1 (within {_MIXTURE_SUM_TOL:g}), got sum {total!r}"
            )
        if any(sd <= 0.0 for sd in cols["stds"]):
            raise ConfigError("stds", f"must be > 0, got {list(cols['stds'])}")
        for name, vals in cols.items():
            object.__setattr__(self, name, vals)

    def _arrays(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        return np.array(self.weights), np.array(self.means), np.array(self.stds)

    def sample(
        self, key: jax.Array, shape: int | tuple[int, ...], dtype: Any = jnp.float32
    ) -> jax.Array:
        """Component k ~ Categorical(weights), then eps = means_k + stds_k * N(0, 1)."""
        _check_dtype(dtype)
        shape = _shape(shape)
        k_comp, k_norm = jax.random.split(key)
        logits = jnp.log(jnp.asarray(self.weights, dtype=dtype))
        idx = jax.random.categorical(k_comp, logits, shape=shape)
        means = jnp.asarray(self.means, dtype=dtype)
        stds = jnp.asarray(self.stds, dtype=dtype)
        return means[idx] + stds[idx] * jax.random.normal(k_norm, shape, dtype)

    @property
    def mean(self) -> float:
        """sum_k w_k m_k."""
        return math.fsum(w * m for w, m in zip(self.weights, self.means, strict=True))

    @property
    def variance(self) -> float:
        """sum_k w_k (s_k^2 + (m_k - mean)^2)."""
        mu = self.mean
        return math.fsum(
            w * (sd**2 + (m - mu) ** 2)
            for w, m, sd in zip(self.weights, self.means, self.stds, strict=True)
        )

    @property
    def second_moment(self) -> float:
        """sum_k w_k (s_k^2 + m_k^2)."""
        return math.fsum(
            w * (sd**2 + m**2) for w, m, sd in zip(self.weights, self.means, self.stds, strict=True)
        )

    def _pdf(self, x: FloatArray) -> FloatArray:
        return _gauss_mix_pdf(x, *self._arrays())

    def _cdf(self, x: FloatArray) -> FloatArray:
        return _gauss_mix_cdf(x, *self._arrays())

    def _smoothed_pdf(self, x: FloatArray, s: float) -> FloatArray:
        w, m, sd = self._arrays()
        return _gauss_mix_pdf(x, w, m, np.hypot(sd, s))

    def _smoothed_cdf(self, x: FloatArray, s: float) -> FloatArray:
        w, m, sd = self._arrays()
        return _gauss_mix_cdf(x, w, m, np.hypot(sd, s))


# ---------------------------------------------------------------------------------------------
# discrete laws


@register("noise", "rademacher")
@dataclass(frozen=True)
class Rademacher(NoiseLaw):
    """Rademacher noise eps = +-scale with probability 1/2 each (discrete).

    Atoms {-scale, +scale}, probabilities {1/2, 1/2}; variance scale^2. ``scale = 0`` is the
    point mass at 0. Smoothed density (phi((x - scale)/s) + phi((x + scale)/s)) / (2 s).
    """

    scale: float

    _law_name: ClassVar[str] = "rademacher"

    def __post_init__(self) -> None:
        _nonneg(self, "scale")

    @property
    def is_discrete(self) -> bool:
        """Always True."""
        return True

    def atoms(self) -> tuple[FloatArray, FloatArray]:
        """(-scale, +scale) with probabilities (1/2, 1/2); (0,) with (1,) when scale = 0."""
        if self.scale == 0.0:
            return np.array([0.0]), np.array([1.0])
        return np.array([-self.scale, self.scale]), np.array([0.5, 0.5])

    def sample(
        self, key: jax.Array, shape: int | tuple[int, ...], dtype: Any = jnp.float32
    ) -> jax.Array:
        """eps = scale * (+-1) (``jax.random.rademacher``)."""
        _check_dtype(dtype)
        return self.scale * jax.random.rademacher(key, _shape(shape), dtype)

    @property
    def mean(self) -> float:
        """0."""
        return 0.0

    @property
    def variance(self) -> float:
        """scale^2."""
        return self.scale**2


@register("noise", "sparse_rademacher")
@dataclass(frozen=True)
class SparseRademacher(NoiseLaw):
    """Sparse Rademacher noise: eps = +-std/sqrt(q) with probability q/2 each, 0 otherwise.

    Atoms {-std/sqrt(q), 0, +std/sqrt(q)} with probabilities {q/2, 1 - q, q/2} (the atom at 0
    only when q < 1), 0 < q <= 1; mean 0, variance std^2 for every q. ``std = 0`` is the point
    mass at 0. Smoothed density: the corresponding finite sum of N(atom, s^2) densities.
    """

    q: float
    std: float

    _law_name: ClassVar[str] = "sparse_rademacher"

    def __post_init__(self) -> None:
        q = _real("q", self.q)
        if not (math.isfinite(q) and 0.0 < q <= 1.0):
            raise ConfigError("q", f"must satisfy 0 < q <= 1, got {q!r}")
        object.__setattr__(self, "q", q)
        _nonneg(self, "std")

    def _amplitude(self) -> float:
        """Nonzero atom magnitude std / sqrt(q)."""
        return self.std / math.sqrt(self.q)

    @property
    def is_discrete(self) -> bool:
        """Always True."""
        return True

    def atoms(self) -> tuple[FloatArray, FloatArray]:
        """(-std/sqrt(q), 0, std/sqrt(q)) with probabilities (q/2, 1 - q, q/2); the 0 atom is
        dropped when q = 1 and only (0,) remains when std = 0."""
        a, q = self._amplitude(), self.q
        if a == 0.0:
            return np.array([0.0]), np.array([1.0])
        if q == 1.0:
            return np.array([-a, a]), np.array([0.5, 0.5])
        return np.array([-a, 0.0, a]), np.array([0.5 * q, 1.0 - q, 0.5 * q])

    def sample(
        self, key: jax.Array, shape: int | tuple[int, ...], dtype: Any = jnp.float32
    ) -> jax.Array:
        """With U ~ U[0, 1): eps = +a if U < q/2, -a if q/2 <= U < q, else 0; a = std/sqrt(q)."""
        _check_dtype(dtype)
        a, q = self._amplitude(), self.q
        u = jax.random.uniform(key, _shape(shape), dtype)
        zero = jnp.zeros_like(u)
        return jnp.where(u < 0.5 * q, zero + a, jnp.where(u < q, zero - a, zero))

    @property
    def mean(self) -> float:
        """0."""
        return 0.0

    @property
    def variance(self) -> float:
        """std^2."""
        return self.std**2


@register("noise", "none")
@dataclass(frozen=True)
class NoNoise(NoiseLaw):
    """No label noise: eps = 0 always (the point mass at 0; mean and variance 0)."""

    _law_name: ClassVar[str] = "none"

    def _is_point_mass(self) -> bool:
        return True

    def sample(
        self, key: jax.Array, shape: int | tuple[int, ...], dtype: Any = jnp.float32
    ) -> jax.Array:
        """Zeros of the given shape (the key is unused)."""
        _check_dtype(dtype)
        return jnp.zeros(_shape(shape), dtype)

    @property
    def mean(self) -> float:
        """0."""
        return 0.0

    @property
    def variance(self) -> float:
        """0."""
        return 0.0


# ---------------------------------------------------------------------------------------------
# config

def from_config(d: Mapping[str, Any]) -> NoiseLaw:
    """Build a noise law from a mapping such as ``{"law": "gaussian", "std": 0.5}``.

    Law names: gaussian (std), student_t (df, scale=1), cauchy (scale=1), laplace (scale),
    uniform (half_width), rademacher (scale), sparse_rademacher (q, std), centered_exponential
    (scale), gaussian_mixture (weights, means, stds), none. Unknown laws, unknown or missing
    parameters and invalid values raise :class:`~optdyn.errors.ConfigError` naming the field as
    ``noise.<key>``; names match in any case, with or without ``_`` (the one registry,
    :mod:`optdyn._core.spec`).
    """
    if not isinstance(d, Mapping):
        raise ConfigError("noise", f"expected a mapping with a 'law' key, got {d!r}")
    return build("noise", d, "noise")
