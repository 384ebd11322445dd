"""Deterministic equivalents of power-law random features: the spectrum of K_f = W^T Lambda W and
the capacity floor, without sampling W (docs/theory/plrf.md).

Model (Paquette, Paquette, Xiao, Pennington, arXiv 2405.15074): Lambda = diag(j^(-2 alpha)),
j = 1..v, target b_j = j^(-beta), sketch W in R^(v x d) with i.i.d. N(0, 1/d) entries. With
A = Lambda^(1/2) W, the resolvent of the v x v matrix A A^T has the deterministic equivalent
(docs/theory/plrf.md section 2)

    (A A^T - z)^(-1) ~ diag(u / (lambda_j + kappa)),   kappa = -z u,

where the *effective ridge* kappa(z) solves the scalar equation

    z = -kappa (1 - S(kappa)),   S(kappa) = (1/d) sum_j lambda_j / (lambda_j + kappa),

on the branch with kappa ~ -z as |z| -> infinity. The counting function of K_f (which shares
the d nonzero eigenvalues of A A^T) comes from the boundary value of the equivalent log-det
(section 3):

    #{eigenvalues of K_f below x} = -(1/pi) Im L(x + i0) - (v - d),
    L(z) = sum_j log((lambda_j + kappa) / u) + d (log u - (u - 1) / u),

which counts isolated eigenvalues as well as the bulk, with no density to integrate. The
capacity floor F_0 = sigma_xi^2 / 2 is F_0 = (kappa_0 / 2) sum_j lambda_j b_j^2 / (lambda_j +
kappa_0), S(kappa_0) = 1 (section 4); the target's weight on the spectrum (the initial
mode energies) by a contour integral (section 5), and a quantised measure of n atoms. Derived
here; checked against sampled K_f (Kolmogorov
distance 0.0017 at d = 2000, v = 4d, alpha = 1; ``tests/test_rmt_plrf.py``).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.lazy import lazy_module
from optdyn.rmt.continuation import eta_ladder, newton_continuation

interpolate = lazy_module("scipy.interpolate")
optimize = lazy_module("scipy.optimize")

__all__ = ["PLRFSpectrum", "population_nodes"]

# the counting function is read at z = x (1 + i _REL_ETA): far below the spacing of the
# eigenvalues of K_f in relative terms. Each eigenvalue mu far below x still counts as
# 1 - atan(eta x / (x - mu)) / pi: for the v - d zero eigenvalues of A A^T that is exactly
# atan(eta) / pi each and is added back; the d nonzero ones leave at most d eta / pi in all
_REL_ETA = 1e-10


_PANEL_RATIO = 1.25  # j_hi / j_lo of one tail panel
_PANEL_NODES = 8  # Gauss-Legendre nodes per panel


def population_nodes(v: int, exact_terms: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Nodes j_k and weights w_k with sum_k w_k f(j_k) ~ sum_{j=1}^{v} f(j).

    The first ``exact_terms`` integers have weight 1; the tail is the integral of f over
    [exact_terms + 1/2, v + 1/2] (equal to the tail sum up to -(1/24) sum_j f''(j) and higher
    Euler-Maclaurin terms), by ``_PANEL_NODES``-point Gauss-Legendre on panels whose ends have
    the ratio ``_PANEL_RATIO``. The weights sum to v exactly."""
    if exact_terms is None or v <= exact_terms:
        return np.arange(1, v + 1, dtype=float), np.ones(v)
    a, b = exact_terms + 0.5, v + 0.5
    n = max(1, math.ceil(math.log(b / a) / math.log(_PANEL_RATIO)))
    edges = np.geomspace(a, b, n + 1)
    g, gw = np.polynomial.legendre.leggauss(_PANEL_NODES)
    half = 0.5 * np.diff(edges)[:, None]
    mid = 0.5 * (edges[1:] + edges[:-1])[:, None]
    nodes = (mid + half * g[None, :]).ravel()
    weights = (half * gw[None, :]).ravel()
    return (np.concatenate([np.arange(1, exact_terms + 1, dtype=float), nodes]),
            np.concatenate([np.ones(exact_terms), weights]))


class PLRFSpectrum:
    """The deterministic-equivalent spectrum of K_f = W^T Lambda W for PLRF(v, d, alpha, beta).

    Args:
        v: input dimension (power-law coordinates), v >= d.
        d: number of random features (K_f is d x d).
        alpha: Lambda = diag(j^(-2 alpha)), alpha >= 0.
        beta: target b_j = j^(-beta); only the capacity floor needs it (None: no floor).

        exact_terms: population sums over j = 1..v are exact up to this many terms; beyond it,
            the tail j > exact_terms is the integral of the summand over [exact_terms + 1/2,
            v + 1/2] (the midpoint rule read backwards, relative error of order
            1/(24 exact_terms^2) where the summand is smooth in j), by Gauss-Legendre on panels
            geometric in j (docs/theory/plrf.md section 6). None: every term exact.

    The cost of one evaluation is O(number of population nodes) per point and Newton step: all v
    terms without compression (about 5 s for 600 points at v = 8000 on 2 cores), at most
    ``exact_terms`` plus a few hundred nodes with it, whatever v.
    """

    def __init__(self, v: int, d: int, alpha: float, beta: float | None = None,
                 exact_terms: int | None = 1024) -> None:
        for name, val in (("v", v), ("d", d)):
            if not isinstance(val, int | np.integer) or isinstance(val, bool) or val < 1:
                raise ConfigError(name, f"must be a positive integer, got {val!r}")
        if v < d:
            raise ConfigError("v", f"must be >= d = {d}, got {v}")
        if not (math.isfinite(alpha) and alpha >= 0):
            raise ConfigError("alpha", f"must be finite and >= 0, got {alpha!r}")
        if beta is not None and not 2 * alpha + 2 * beta > 1:
            raise ConfigError("beta", f"need 2 alpha + 2 beta > 1, got alpha = {alpha}, "
                              f"beta = {beta}")
        if exact_terms is not None and (not isinstance(exact_terms, int | np.integer)
                                        or isinstance(exact_terms, bool) or exact_terms < 16):
            raise ConfigError("exact_terms", f"must be an integer >= 16 or None, got "
                              f"{exact_terms!r}")
        self.v, self.d, self.alpha, self.beta = int(v), int(d), float(alpha), beta
        #: population nodes j (integers, then quadrature nodes of the tail), their weights, and
        #: lambda_j = j^(-2 alpha): every sum over j = 1..v is sum_k w_k f(j_k)
        self.j, self.w = population_nodes(self.v, exact_terms)
        self.lam = self.j ** (-2.0 * self.alpha)

    # ------------------------------------------------------------------ the fixed point
    def _sum(self, terms: np.ndarray) -> np.ndarray:
        """sum_j over the population (axis 0) of ``terms`` evaluated at the nodes."""
        return np.tensordot(self.w, terms, axes=(0, 0))

    def _s(self, kappa: np.ndarray) -> np.ndarray:
        return self._sum(self.lam[:, None] / (self.lam[:, None] + kappa[None, :])) / self.d

    def kappa(self, z: Any) -> np.ndarray:
        """The effective ridge kappa(z) for Im z > 0 (physical branch, by continuation in Im z
        from far above the spectrum, :func:`optdyn.rmt.continuation.newton_continuation`)."""
        z = np.atleast_1d(np.asarray(z, dtype=complex))
        if np.any(z.imag <= 0):
            raise ConfigError("z", "needs Im z > 0 (boundary values: x (1 + 1e-10 i))")

        # solved for kappa / c with c = d^(-2 alpha), the scale of the spectrum's lower part: the
        # continuation's Jacobian steps are relative with an absolute floor of 1e-14, which a
        # kappa of 1e-13 (alpha = 1.5, d = 25600) would not survive unscaled
        c = float(self.d) ** (-2.0 * self.alpha)

        def residual(u: np.ndarray, zz: np.ndarray) -> np.ndarray:
            k = c * u[0]
            return (u[0] * (1.0 - self._s(k)) + zz / c)[None, :]

        def valid(u: np.ndarray, zz: np.ndarray) -> np.ndarray:
            g = c * u[0] / (-zz)  # u = 1 + delta, Im delta >= 0 on the physical branch
            return g.imag >= -1e-9 * np.abs(g)

        etas = eta_ladder(2.0 * float(self.lam[0]), ratio=4.0, low=1e-6)
        k, ok = newton_continuation(residual, z, lambda zz: (-zz / c)[None, :], etas, valid)
        if not np.all(ok):
            bad = z[~ok][:3]
            raise RuntimeError(f"the PLRF fixed point did not converge at z = {bad}")
        return c * k[0]

    def _kappa_from(self, z: np.ndarray, start: np.ndarray, iters: int = 12) -> np.ndarray:
        """kappa(z) by Newton from a nearby solution ``start`` (the analytic derivative of
        kappa (1 - S(kappa)) + z), where the warm start converges to the physical root; the
        points where it does not (no convergence, or Im(kappa / -z) <= 0) fall back to the
        continuation of :meth:`kappa`."""
        k = np.array(start, dtype=complex)
        lam = self.lam[:, None]
        conv = np.zeros(z.shape, bool)
        for _ in range(iters):
            r = lam / (lam + k[None, :])
            sk = self._sum(r) / self.d
            dsk = -self._sum(r / (lam + k[None, :])) / self.d
            with np.errstate(all="ignore"):
                step = (k * (1.0 - sk) + z) / (1.0 - sk - k * dsk)
            step = np.where(np.isfinite(step), step, np.inf)
            k = k - np.where(conv, 0.0, step)
            conv |= np.abs(step) <= 1e-12 * np.abs(k)
            if np.all(conv):
                break
        # strictly Im(kappa / -z) > 0: a warm start can land on a real root of the wrong sheet
        # (Im g ~ -eta |g|, one eigenvalue miscounted), which the continuation's tolerance passes
        g = k / (-z)
        ok = conv & np.isfinite(k) & (g.imag > 0)
        if not np.all(ok):
            k[~ok] = self.kappa(z[~ok])
        return k

    # ------------------------------------------------------------------ the spectrum
    def cdf(self, x: Any) -> np.ndarray:
        """F(x): the fraction of K_f's d eigenvalues at or below x (x > 0)."""
        return self._cdf_kappa(x)[0]

    def _cdf_kappa(self, x: Any, start: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """F(x) and kappa at z = x (1 + i eta); ``start``: kappa at nearby points (x's shape) for
        a warm-started Newton (:meth:`_kappa_from`) instead of the continuation in Im z."""
        x = np.asarray(x, dtype=float)
        flat = x.ravel()
        out = np.zeros(flat.shape)
        kap = np.full(flat.shape, np.nan, complex)
        pos = flat > 0
        if np.any(pos):
            z = flat[pos] * (1.0 + 1j * _REL_ETA)
            k = (self.kappa(z) if start is None
                 else self._kappa_from(z, np.asarray(start, complex).ravel()[pos]))
            u = k / (-z)
            big_l = (self._sum(np.log((self.lam[:, None] + k[None, :]) / u[None, :]))
                     + self.d * (np.log(u) - (u - 1.0) / u))
            count = -big_l.imag / np.pi - (self.v - self.d) * (1.0 - math.atan(_REL_ETA) / np.pi)
            out[pos] = np.clip(count / self.d, 0.0, 1.0)
            kap[pos] = k
        return out.reshape(x.shape), kap.reshape(x.shape)

    def bounds(self) -> tuple[float, float]:
        """An interval (lo, hi) that holds the spectrum: F(lo) < 1/(2d) and F(hi) = 1."""
        hi = 2.0 * float(self.lam[0]) * (1.0 + math.sqrt(self.v / self.d)) ** 2
        lo = float(self.d) ** (-2.0 * self.alpha) * 1e-3
        while self.cdf(lo)[()] >= 0.5 / self.d:
            lo *= 1e-2
        return lo, hi

    def quantiles(self, n: int, points: int = 400) -> np.ndarray:
        """The n mid-quantiles F^(-1)((i - 1/2) / n), increasing: n eigenvalues distributed as
        K_f's (the atoms of a quantised spectral measure). F is tabulated on ``points`` log-
        spaced points and inverted by monotone interpolation in log x."""
        if not isinstance(n, int) or n < 1:
            raise ConfigError("n", f"must be a positive integer, got {n!r}")
        lo, hi = self.bounds()
        xs = np.geomspace(lo, hi, points)
        f = np.maximum.accumulate(self.cdf(xs))
        keep = np.concatenate([[True], np.diff(f) > 0])
        inv = interpolate.PchipInterpolator(f[keep], np.log(xs[keep]))
        p = (np.arange(n) + 0.5) / n
        return np.exp(inv(np.clip(p, f[keep][0], f[keep][-1])))

    # ------------------------------------------------------------------ the capacity floor
    @functools.cached_property
    def kappa0(self) -> float:
        """kappa_0 = kappa(0): the root of S(kappa) = 1 (exists for v > d)."""
        if self.v == self.d:
            return 0.0
        s = lambda k: float(self._s(np.array([k]))[0]) - 1.0  # noqa: E731
        hi = float(self.lam[0])
        while s(hi) > 0:
            hi *= 2.0
        return float(optimize.brentq(s, 0.0, hi, xtol=1e-300, rtol=1e-14))

    @property
    def capacity_floor(self) -> float:
        """F_0 = sigma_xi^2 / 2 = (kappa_0 / 2) sum_j lambda_j b_j^2 / (lambda_j + kappa_0)."""
        if self.beta is None:
            raise ConfigError("beta", "the capacity floor needs the target exponent beta")
        return 0.5 * self._target[1]

    # ------------------------------------------------------------------ the target's weights
    @functools.cached_property
    def _target(self) -> tuple[np.ndarray, float, float]:
        """c_j^2 = lambda_j b_j^2, sigma_xi^2 = kappa_0 T(kappa_0), and G(0) = ||theta_opt||^2
        = -(T_0 + kappa_0 T_0') / (kappa_0 S'(kappa_0)) (docs/theory/plrf.md section 5)."""
        if self.beta is None:
            raise ConfigError("beta", "the target's weights need the target exponent beta")
        c2 = self.lam * self.j ** (-2.0 * self.beta)
        k0 = self.kappa0
        t0 = float(self._sum(c2 / (self.lam + k0)))
        dt0 = -float(self._sum(c2 / (self.lam + k0) ** 2))
        ds0 = -float(self._sum(self.lam / (self.lam + k0) ** 2)) / self.d
        return c2, k0 * t0, -(t0 + k0 * dt0) / (k0 * ds0)

    @property
    def total_energy(self) -> float:
        """||theta_opt||^2, the initial error's squared norm from theta0 = 0."""
        return self._target[2]

    def energy_cdf(self, x: Any, nodes: int = 48) -> np.ndarray:
        """E(x) = sum over the eigenvectors u_i of K_f with mu_i < x of (u_i^T theta_opt)^2.

        By the contour integral E(x) = -(1/pi) Im int H(z) dz over the upper half circle
        z = x e^(i theta), theta from 0 to pi, with H(z) = theta_opt^T (K_f - z)^(-1) theta_opt
        = (G(z) - G(0)) / z and G(z) = (sigma_xi^2 - kappa T(kappa)) / z (docs/theory/plrf.md
        section 5): the circle stays off the real axis except at x, so no isolated eigenvalue
        needs resolving. kappa is tracked along each circle from the negative axis (where it is
        real, kappa > kappa_0), Gauss-Legendre in theta.
        """
        x = np.atleast_1d(np.asarray(x, dtype=float))
        if self.v == self.d or np.any(x <= 0):
            raise ConfigError("x", "needs x > 0 and v > d")
        c2, sig2, g0 = self._target
        lam = self.lam[:, None]

        def parts(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            r = lam / (lam + k[None, :])
            s = self._sum(r) / self.d
            ds = -self._sum(r / (lam + k[None, :])) / self.d
            return 1.0 - s - k * ds, s  # d/dkappa of kappa (1 - S), and S

        k = x + self.kappa0
        for _ in range(100):  # kappa (1 - S(kappa)) = x on the negative axis z = -x
            fp, s = parts(k)
            step = (k * (1.0 - s) - x) / fp
            k = k - step
            if np.all(np.abs(step) <= 1e-14 * np.abs(k)):
                break
        k = k.astype(complex)
        g, w = np.polynomial.legendre.leggauss(nodes)
        order = np.argsort(-g)  # from theta = pi down to 0
        th, wt = 0.5 * np.pi * (g[order] + 1.0), 0.5 * np.pi * w[order]
        acc = np.zeros(x.shape, complex)
        z_prev, fp = -x.astype(complex), parts(k)[0]
        for t, wi in zip(th, wt, strict=True):
            z = x * np.exp(1j * t)
            k = k - (z - z_prev) / fp  # predictor along the circle: dkappa = -dz / fp
            z_prev = z
            for _ in range(50):
                fp, s = parts(k)
                step = (k * (1.0 - s) + z) / fp
                k = k - step
                if np.all(np.abs(step) <= 1e-13 * np.abs(k)):
                    break
            tk = self._sum(c2[:, None] / (lam + k[None, :]))
            h = ((sig2 - k * tk) / z - g0) / z
            acc += wi * h * 1j * z
        return np.clip(-acc.imag / np.pi, 0.0, g0)

    def _energy_between(self, edges: np.ndarray) -> np.ndarray:
        """The target's weight E(edges[i+1]) - E(edges[i]) on each interval, E evaluated at every
        inner edge (E is step-like around the isolated top eigenvalues, where interpolating a
        table of E lost 3% of the initial risk); the outer edges are 0 and +infinity."""
        g0 = self.total_energy
        inner = self.energy_cdf(edges[1:-1]) if edges.size > 2 else np.zeros(0)
        at = np.maximum.accumulate(np.clip(np.concatenate([[0.0], inner, [g0]]), 0.0, g0))
        return np.diff(at)

    def measure(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """A quantised spectral measure of n atoms of equal count d / n: the mid-quantiles mu_i
        of K_f's spectrum (:meth:`quantiles`) and the target's weight e_i on each, E
        (:meth:`energy_cdf`) taken at the geometric midpoints between neighbouring atoms; the
        weights sum to :attr:`total_energy`."""
        mu = self.quantiles(n)
        edges = np.concatenate([[0.0], np.sqrt(mu[1:] * mu[:-1]), [np.inf]])
        return mu, self._energy_between(edges)

    def atoms(self, ratio: float = 1.02, bisections: int = 10
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A quantised spectral measure with multiplicities, for any d: bins [x_k, x_k ratio)
        geometric in x over :meth:`bounds`, each bin's count n_k = d (F(x_k ratio) - F(x_k)) and
        target weight e_k (:meth:`energy_cdf` at the edges), and one atom per non-empty bin at
        its mid-quantile F^(-1)((F(x_k) + F(x_k ratio)) / 2), found by ``bisections`` steps in
        log x (an isolated eigenvalue is found to within ratio^(2^-bisections)).

        Returns (mu, count, energy): increasing atoms, counts summing to d, weights summing to
        :attr:`total_energy`. The measure stands for sum_i e_i delta(mu_i) with at most
        log(hi / lo) / log(ratio) atoms, whatever d (docs/theory/plrf.md section 6).
        """
        if not (isinstance(ratio, float | int) and 1.0 < ratio <= 2.0):
            raise ConfigError("ratio", f"must lie in (1, 2], got {ratio!r}")
        lo, hi = self.bounds()
        n = math.ceil(math.log(hi / lo) / math.log(ratio))
        edges = lo * ratio ** np.arange(n + 1, dtype=float)
        # the continuation in Im z at every 4th edge, the others warm-started from their left
        # neighbour on that coarse grid
        coarse = np.unique(np.concatenate([np.arange(0, n + 1, 4), [n]]))
        kc = self._cdf_kappa(edges[coarse])[1]
        near = coarse[np.searchsorted(coarse, np.arange(n + 1), side="right") - 1]
        f, kap = self._cdf_kappa(edges, start=kc[np.searchsorted(coarse, near)])
        f = np.maximum.accumulate(f)
        count = self.d * np.diff(f)
        keep = count > 1e-6  # below: the smearing d eta / pi of the count, not an eigenvalue
        a, b = edges[:-1][keep], edges[1:][keep]
        target = 0.5 * (f[:-1] + f[1:])[keep]
        la, lb = np.log(a), np.log(b)
        k = kap[:-1][keep]
        for _ in range(bisections):  # each F warm-started from the previous midpoint's kappa
            mid = 0.5 * (la + lb)
            fm, k = self._cdf_kappa(np.exp(mid), start=k)
            below = fm < target
            la, lb = np.where(below, mid, la), np.where(below, lb, mid)
        mu = np.exp(0.5 * (la + lb))
        cuts = np.concatenate([[0.0], b[:-1], [np.inf]])
        return mu, count[keep], self._energy_between(cuts)
