"""Limiting spectral laws of conjugate kernels: density, atom, support, CDF, quantiles.

:class:`SpectralLaw` turns a Stieltjes transform S(z) = int dmu(x)/(x - z) (computed by
continuation in Im z, :mod:`optdyn.rmt.continuation`) into a law on [0, inf):

* density rho(x) = (1/pi) Im S(x + i0) (Stieltjes inversion), exactly at each x;
* an atom at 0 (rank deficiency);
* support intervals from candidate edges (the discriminant for one layer, a density scan otherwise),
  each kept where the density between consecutive candidates is positive;
* the CDF by Simpson's rule in the angle theta of x = a + (b - a)(1 - cos theta)/2, which absorbs
  the square-root (and x^{-1/2} at 0 when gamma = 1) edge singularities;
* quantiles by inverting that CDF (monotone cubic in theta).

:class:`ConjugateKernel` is the one-layer law of M = (1/m) Y Y^T, Y = f(W X / sqrt(n0))
(Pennington & Worah, NeurIPS 2017; Benigni & Peche, EJP 26 (2021) paper 150), solved from the
quartic (Q) of :mod:`optdyn.rmt.quartic`.
"""

from __future__ import annotations

import abc
import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from optdyn._core.errors import ConfigError
from optdyn._core.lazy import lazy_module
from optdyn._version import __version__
from optdyn.rmt.activation import Activation, GaussianConstants, activation, gaussian_constants
from optdyn.rmt.continuation import eta_ladder, poly_roots, track_polynomial_root
from optdyn.rmt.quartic import quartic_coefficients

integrate = lazy_module("scipy.integrate")
interpolate = lazy_module("scipy.interpolate")
optimize = lazy_module("scipy.optimize")

__all__ = ["SpectralLaw", "ConjugateKernel"]

_GRID = 801  # nodes per support interval for the CDF


def _positive_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(field, f"must be a positive integer, got {value!r}")
    return int(value)


def _positive_float(value: Any, field: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(field, f"must be a positive number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ConfigError(field, f"must be finite and > 0, got {value!r}")
    return v


class SpectralLaw(abc.ABC):
    """A probability law on [0, inf) given by its Stieltjes transform (subclasses supply it).

    Subclasses implement ``_stieltjes(z_base, etas)`` (continuation), ``atom``, ``upper_bound``
    and optionally ``_edge_candidates()``.
    """

    name: str = "law"

    # ------------------------------------------------------------------ to be provided
    @property
    @abc.abstractmethod
    def atom(self) -> float:
        """Mass of the atom at 0."""

    @property
    @abc.abstractmethod
    def upper_bound(self) -> float:
        """A number above the right edge of the support (a norm bound)."""

    @abc.abstractmethod
    def _stieltjes(self, zb: np.ndarray, etas: np.ndarray) -> np.ndarray:
        """S at z = zb + i etas[-1], continued down the ladder ``etas``."""

    def _edge_candidates(self) -> np.ndarray:
        return self._scan_edges()

    # ------------------------------------------------------------------ Stieltjes transform
    def stieltjes(self, z: Any) -> np.ndarray:
        """S(z) = int dmu(x)/(x - z) for Im z >= 0 (on the real axis: the boundary value S(x + i0)).

        Computed by continuation from Im z = 100 * upper_bound down to Im z (docs/theory/rmt.md
        section 4).
        """
        z = np.atleast_1d(np.asarray(z, dtype=complex))
        if np.any(z.imag < 0):
            raise ConfigError("z", "Im z must be >= 0 (use conjugation for the lower half-plane)")
        flat = z.ravel()
        etas = eta_ladder(self.upper_bound)
        out = np.empty(flat.shape, complex)
        real = flat.imag == 0
        if np.any(real):
            out[real] = self._stieltjes(flat[real].real, etas)
        if np.any(~real):
            # z = x + i (Im z + e), e down the ladder to 0
            out[~real] = self._stieltjes(flat[~real], etas)
        return out.reshape(z.shape)

    def density(self, x: Any) -> np.ndarray:
        """rho(x) = (1/pi) Im S(x + i0) for x > 0 (0 for x <= 0; the atom is :attr:`atom`)."""
        x = np.asarray(x, dtype=float)
        flat = x.ravel()
        out = np.zeros(flat.shape)
        pos = flat > 0
        if np.any(pos):
            s = self._stieltjes(flat[pos], eta_ladder(self.upper_bound))
            out[pos] = np.maximum(s.imag, 0.0) / np.pi
        return out.reshape(x.shape)

    # ------------------------------------------------------------------ support
    def _scan_edges(self, n: int = 500) -> np.ndarray:
        """Edges located by a density scan and multi-section on {rho > 0}.

        A coarse scan of (0, upper_bound] finds the right end R of the support; a second scan of
        (0, 1.05 R] (linear and geometric grids) finds the sign changes of rho > tol, each refined
        to a relative width 1e-11 by repeated 32-point sections.
        """
        b = self.upper_bound
        coarse = np.linspace(0, b, n)[1:]
        rho = np.nan_to_num(self.density(coarse))
        pos = np.nonzero(rho > 1e-9 * max(rho.max(), 1e-300))[0]
        if pos.size and pos[-1] + 1 < coarse.size:
            b = float(coarse[pos[-1] + 1])
        xs = np.unique(np.concatenate([np.linspace(0, b, 2 * n)[1:],
                                       np.geomspace(1e-9 * b, b, n)]))
        rho = np.nan_to_num(self.density(xs))  # a point the continuation gave up on counts as 0
        tol = 1e-9 * max(rho.max(), 1e-300)
        inside = rho > tol
        edges = []
        for i in np.nonzero(inside[1:] != inside[:-1])[0]:
            lo, hi = xs[i], xs[i + 1]
            in_lo = inside[i]
            for _ in range(8):
                grid = np.linspace(lo, hi, 34)
                ins = self.density(grid[1:-1]) > tol
                flags = np.concatenate([[in_lo], ins, [not in_lo]])
                j = int(np.argmax(flags != in_lo))
                lo, hi = grid[j - 1], grid[j]
                if hi - lo <= 1e-11 * max(hi, 1e-300):
                    break
            edges.append(0.5 * (lo + hi))
        if inside[0]:
            edges.append(0.0)
        return np.array(sorted(edges))

    @functools.cached_property
    def _intervals(self) -> np.ndarray:
        cand = np.unique(np.concatenate([[0.0], self._edge_candidates(), [self.upper_bound]]))
        mids = 0.5 * (cand[:-1] + cand[1:])
        # outside the support S is real; rounding leaves |Im S| ~ 1e-16 |S|
        inside = self.density(mids) > 1e-10 / self.upper_bound
        intervals: list[list[float]] = []
        for k, ins in enumerate(inside):
            if not ins:
                continue
            if intervals and intervals[-1][1] == cand[k]:
                intervals[-1][1] = cand[k + 1]
            else:
                intervals.append([cand[k], cand[k + 1]])
        if not intervals:
            raise RuntimeError("no support found: the density vanishes on (0, upper bound]")
        return np.array(intervals)

    def intervals(self) -> np.ndarray:
        """Support intervals of the continuous part, shape (k, 2), increasing."""
        return self._intervals.copy()

    def support(self) -> tuple[float, float]:
        """(left edge, right edge) of the continuous part (the atom at 0 is :attr:`atom`)."""
        iv = self._intervals
        return float(iv[0, 0]), float(iv[-1, 1])

    @property
    def right_edge(self) -> float:
        """lambda_+, the right edge of the support."""
        return self.support()[1]

    # ------------------------------------------------------------------ CDF and quantiles
    @staticmethod
    def _power(a: float) -> int:
        # a left edge at 0 may carry an x^(-1/2) (gamma = 1) or x^(-2/3) (square product-Wishart)
        # singularity: x = b u^3 makes the integrand regular there
        return 3 if a == 0.0 else 1

    @functools.cached_property
    def _cdf_table(self) -> list[tuple]:
        """Per interval: (a, b, theta, cumulative mass, x(theta), rho dx/dtheta).

        x = a + (b - a) u^k, u = (1 - cos theta)/2.
        """
        table = []
        th = np.linspace(0.0, np.pi, _GRID)
        u = 0.5 * (1.0 - np.cos(th))
        du = 0.5 * np.sin(th)
        for a, b in self._intervals:
            k = self._power(a)
            xg = a + (b - a) * u**k
            xg[0], xg[-1] = a, b
            g = self.density(xg) * (b - a) * k * u ** (k - 1) * du
            # endpoint values by quadratic extrapolation: the density may be singular there
            g[0] = 3 * g[1] - 3 * g[2] + g[3]
            g[-1] = 3 * g[-2] - 3 * g[-3] + g[-4]
            g = np.maximum(g, 0.0)
            cum = integrate.cumulative_simpson(g, x=th, initial=0.0)
            table.append((float(a), float(b), th, np.maximum.accumulate(cum), xg, g))
        return table

    def _theta(self, x: np.ndarray, a: float, b: float) -> np.ndarray:
        u = np.clip((x - a) / (b - a), 0.0, 1.0) ** (1.0 / self._power(a))
        return np.arccos(np.clip(1.0 - 2.0 * u, -1.0, 1.0))

    @property
    def continuous_mass(self) -> float:
        """int rho over the support, computed (should equal 1 - atom; a self-check)."""
        return float(sum(t[3][-1] for t in self._cdf_table))

    def cdf(self, x: Any) -> np.ndarray:
        """F(x) = mu([0, x]) including the atom at 0 (right-continuous)."""
        x = np.asarray(x, dtype=float)
        out = np.where(x >= 0, self.atom, 0.0)
        for a, b, th, cum, *_ in self._cdf_table:
            inside = (x > a) & (x < b)
            fwd = interpolate.PchipInterpolator(th, cum)  # monotone: cum is non-decreasing
            out = out + np.where(inside, fwd(self._theta(x, a, b)), 0.0)
            out = out + np.where(x >= b, cum[-1], 0.0)
        return np.clip(out, 0.0, 1.0)

    def quantiles(self, n: int) -> np.ndarray:
        """The n mid-quantiles F^{-1}((j - 1/2)/n), j = 1..n, increasing (0 inside the atom).

        Used as a deterministic covariance spectrum with n eigenvalues distributed by the law.
        """
        n = _positive_int(n, "n")
        p = (np.arange(n) + 0.5) / n
        out = np.zeros(n)
        base = self.atom
        total = self.atom + self.continuous_mass
        for a, b, th, cum, *_ in self._cdf_table:
            mass = cum[-1]
            sel = (p > base) & (p <= base + mass * (1 + 1e-12))
            # the CDF is normalised to the computed total so that every quantile is reached
            target = (p[sel] - base) * (1.0 - self.atom) / max(total - self.atom, 1e-300)
            keep = np.concatenate([[True], np.diff(cum) > 0])
            inv = interpolate.PchipInterpolator(cum[keep], th[keep])
            target = np.clip(target, 0.0, cum[-1])
            t = inv(target)
            # polish: Newton on the forward interpolant used by cdf(), so cdf(quantile) = p
            fwd = interpolate.PchipInterpolator(th, cum)
            dfwd = fwd.derivative()
            for _ in range(3):
                slope = dfwd(t)
                ok = slope > 1e-12 * cum[-1]
                t = np.clip(t - np.where(ok, (fwd(t) - target) / np.where(ok, slope, 1.0), 0.0),
                            0.0, np.pi)
            out[sel] = a + (b - a) * (0.5 * (1.0 - np.cos(t))) ** self._power(a)
            base += mass
        return out

    def moment(self, k: int = 1) -> float:
        """int x^k dmu(x) (the atom contributes 0 for k >= 1), Simpson's rule in theta."""
        total = 0.0
        for _, _, th, _, xg, g in self._cdf_table:
            total += float(integrate.simpson(xg**k * g, x=th))
        return total

    # ------------------------------------------------------------------ results
    def to_dataset(self, x: Any = None, n: int = 1000) -> xr.Dataset:
        """Density and CDF on a grid (default: n points over [0, 1.1 lambda_+]) as a Dataset."""
        if x is None:
            x = np.linspace(0.0, 1.1 * self.right_edge, n)[1:]
        x = np.asarray(x, dtype=float)
        left, right = self.support()
        ds = xr.Dataset(
            {"density": ("x", self.density(x), {"long_name": "limiting density rho(x)"}),
             "cdf": ("x", self.cdf(x), {"long_name": "limiting CDF (atom at 0 included)"})},
            coords={"x": ("x", x, {"long_name": "eigenvalue"})},
            attrs={"law": self.name, "atom": self.atom, "left_edge": left, "right_edge": right,
                   "optdyn_version": __version__, "dtype": "float64", **self._attrs()},
        )
        return ds

    def _attrs(self) -> dict[str, Any]:
        return {}


class ConjugateKernel(SpectralLaw):
    """Limiting spectrum of M = (1/m) Y Y^T, Y = f(W X / sqrt(n0)) (one layer).

    W (n1 x n0) and X (n0 x m) have iid centred entries of variance sigma_w^2, sigma_x^2. With
    gamma = n1/m, psi = n0/n1, theta1 = Var f(sigma N), theta2 = (E[N f(sigma N)])^2, sigma =
    sigma_w sigma_x, the Stieltjes transform solves the quartic (Q) (Benigni & Peche, EJP 26 (2021),
    thm 2.3; Pennington & Worah, NeurIPS 2017, eq. 10; docs/theory/rmt.md section 3.1), solved by
    continuation in Im z (section 4). Edges: real roots of the discriminant of (Q) in S
    (section 3.4). Atom at 0: 1 - 1/gamma when gamma > 1 (and 1 - min(1, 1/gamma, psi) for linear
    f, which has rank <= min(n0, n1, m)).

    Non-centred f: the bulk uses Var f (the mean adds a rank-one spike, see
    :meth:`largest_eigenvalue`); ``centre=True`` subtracts E f(sigma N) exactly.

    Args:
        activation: a name (``"tanh"``, ``"relu"``, ``"sin"``, ... see
            :data:`optdyn.rmt.activation.ACTIVATIONS`), an :class:`Activation` or any vectorised
            callable.
        n0: input dimension (only the ratios of n0, n1 and m enter the law).
        n1: width (it also enters the mean spike).
        m: number of samples.
        sigma_w: entry standard deviation of W.
        sigma_x: entry standard deviation of X.
        centre: subtract the Gaussian mean E f(sigma N) from f.
    """

    def __init__(self, activation: str | Callable | Activation, n0: int, n1: int, m: int,
                 sigma_w: float = 1.0, sigma_x: float = 1.0, centre: bool = False) -> None:
        self.n0 = _positive_int(n0, "n0")
        self.n1 = _positive_int(n1, "n1")
        self.m = _positive_int(m, "m")
        self.sigma_w = _positive_float(sigma_w, "sigma_w")
        self.sigma_x = _positive_float(sigma_x, "sigma_x")
        self.activation = _resolve(activation)
        self.centre = bool(centre)
        self.constants: GaussianConstants = gaussian_constants(self.activation,
                                                               self.sigma_w * self.sigma_x)
        if not self.constants.theta1 > 0:
            raise ConfigError("activation", "f(sigma N) is almost surely constant (Var f = 0)")
        self.name = f"CK[{self.activation.name}]"

    # ratios and constants
    @property
    def gamma(self) -> float:
        """n1 / m."""
        return self.n1 / self.m

    @property
    def psi(self) -> float:
        """n0 / n1."""
        return self.n0 / self.n1

    @property
    def phi(self) -> float:
        """n0 / m."""
        return self.n0 / self.m

    @property
    def theta1(self) -> float:
        """Var f(sigma N)."""
        return self.constants.theta1

    @property
    def theta2(self) -> float:
        """(E[N f(sigma N)])^2."""
        return self.constants.theta2

    @property
    def c2(self) -> float:
        """Second Hermite coefficient E[f(sigma N)(N^2 - 1)]/sqrt(2)."""
        return self.constants.c2

    @property
    def mean(self) -> float:
        """E f(sigma N) of the activation as used (0 when ``centre``)."""
        return 0.0 if self.centre else self.constants.mean

    @property
    def is_linear(self) -> bool:
        """theta1 == theta2: f is affine in law (product-Wishart case)."""
        return self.theta1 == self.theta2

    @property
    def atom(self) -> float:
        rank = min(1.0, 1.0 / self.gamma)
        if self.is_linear:
            rank = min(rank, self.psi)
        return max(0.0, 1.0 - rank)

    @property
    def upper_bound(self) -> float:
        """(sqrt(theta2)(1 + 1/sqrt(psi))(1 + sqrt(phi)) + sqrt(theta1 - theta2)(1 + sqrt(gamma)))^2
        times 1.05: a bound on ||M|| through the Gaussian equivalent (docs/theory/rmt.md section
        3.3)."""
        lin = math.sqrt(self.theta2) * (1 + 1 / math.sqrt(self.psi)) * (1 + math.sqrt(self.phi))
        noise = math.sqrt(self.constants.nonlinearity) * (1 + math.sqrt(self.gamma))
        return 1.05 * (lin + noise) ** 2

    def coefficients(self, z: Any) -> np.ndarray:
        """The quartic's coefficients (k4..k0) at z, shape (N, 5)."""
        return quartic_coefficients(np.atleast_1d(z), self.theta1, self.theta2, self.gamma,
                                    self.psi)

    def _stieltjes(self, zb: np.ndarray, etas: np.ndarray) -> np.ndarray:
        coef = functools.partial(quartic_coefficients, theta1=self.theta1, theta2=self.theta2,
                                 gamma=self.gamma, psi=self.psi)
        return track_polynomial_root(coef, zb, lambda z: -1.0 / z - self.theta1 / z**2, etas)

    def discriminant(self, x: Any) -> np.ndarray:
        """Discriminant in S of (Q) at real x: lead^(2n-2) prod_{i<j} (r_i - r_j)^2 (real)."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        c = self.coefficients(x).real
        while c.shape[1] > 2 and not np.any(c[:, 0]):
            c = c[:, 1:]
        r = poly_roots(c)
        n = r.shape[1]
        out = c[:, 0].astype(complex) ** (2 * n - 2)
        for i in range(n):
            for j in range(i + 1, n):
                out = out * (r[:, i] - r[:, j]) ** 2
        return out.real

    def _edge_candidates(self) -> np.ndarray:
        b = self.upper_bound
        xs = np.unique(np.concatenate([np.linspace(0, b, 3000)[1:],
                                       np.geomspace(1e-10 * b, b, 1500)]))
        d = self.discriminant(xs)
        out = []
        for i in np.nonzero(np.sign(d[1:]) * np.sign(d[:-1]) < 0)[0]:
            out.append(optimize.brentq(lambda t: float(self.discriminant(t)[0]), xs[i], xs[i + 1],
                                       xtol=1e-15, rtol=1e-15))
        return np.array(out)

    # ------------------------------------------------------------------ largest eigenvalue
    def spikes(self, w_kurtosis: float = 3.0, x_kurtosis: float = 3.0):
        """The rank-<=2 spikes of docs/theory/rmt.md section 7 and their outliers; see
        :func:`optdyn.rmt.largest.conjugate_kernel_spikes`."""
        from optdyn.rmt.largest import conjugate_kernel_spikes

        return conjugate_kernel_spikes(self, w_kurtosis, x_kurtosis)

    def largest_eigenvalue(self, w_kurtosis: float = 3.0, x_kurtosis: float = 3.0) -> float:
        """Predicted limit of lambda_max(M): max(lambda_+, supercritical outliers).

        ``w_kurtosis``, ``x_kurtosis`` are E w^4 / sigma_w^4 and E x^4 / sigma_x^4 of the entries
        (3 Gaussian, 1 Rademacher, 1.8 uniform, 1/p for p-sparse +-1/sqrt(p)). See
        :func:`optdyn.rmt.largest.conjugate_kernel_spikes` for the formulas (a reconstruction of
        Benigni & Peche, arXiv 2201.04753; docs/theory/rmt.md section 7.2).
        """
        return self.spikes(w_kurtosis, x_kurtosis).largest

    def _attrs(self) -> dict[str, Any]:
        return {"activation": self.activation.name, "n0": self.n0, "n1": self.n1, "m": self.m,
                "sigma_w": self.sigma_w, "sigma_x": self.sigma_x, "centre": int(self.centre),
                "theta1": self.theta1, "theta2": self.theta2, "c2": self.c2,
                "gamma": self.gamma, "psi": self.psi,
                "reference": "Benigni & Peche, EJP 26 (2021); Pennington & Worah, NeurIPS 2017"}


def _resolve(f: Any) -> Activation:
    return activation(f)
