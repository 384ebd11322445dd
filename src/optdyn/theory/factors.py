"""Scalar factors of the deterministic dynamics: expectations over the label-noise law.

Clipped SGD (Marshall, Xiao, Agarwala, Paquette, "To Clip or not to Clip", arXiv 2406.11733). With
the residual r = sqrt(2R) Z - eps, Z ~ N(0, 1) independent of eps, and residual threshold c > 0:

    mu(R)     = P(|r| <= c)              descent reduction factor,
    nu_bar(R) = E[min(r^2, c^2)]         UNNORMALISED variance factor,
    nu(R)     = nu_bar / (2R + E eps^2)  NORMALISED variance factor (needs E eps^2 < inf).

signSGD (Xiao, Marshall, Agarwala, Paquette, arXiv 2411.12135): drift factor
c(R) = 2 sqrt(2/pi) p_{eps + sqrt(2R) Z}(0); with a batch of B samples (docs/theory/signsgd.md
section 13) c_B(R) = sqrt(2/pi) (B - 1) E[1 / |r|], r in R^B the batch's residuals, computed as
a one-dimensional integral of c(R + x)^B.

|r| has the law of |eps + V Z| (V = sqrt(2R)); given eps = e it is |X|, X ~ N(e, V^2), with
closed-form P(|X| <= c) and E[X^k; |X| <= c]. Closed forms in R: Gaussian, Laplace, Uniform,
Gaussian mixtures, discrete laws. Other laws: adaptive quadrature over e of these times
p(e) + p(-e), split at c, c +- 12 V and the law's landmarks (in log e along algebraic tails);
past c + 12 V only the tail mass c^2 P(|eps| > c + 12 V) remains (P(|X| <= c) < Phi(-12)).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Literal

import numpy as np
import numpy.typing as npt

from optdyn._core.lazy import lazy_module
from optdyn.noise import (
    CenteredExponential,
    Gaussian,
    GaussianMixture,
    Laplace,
    NoiseLaw,
    NoNoise,
    StudentT,
    Uniform,
)

integrate = lazy_module("scipy.integrate")
special = lazy_module("scipy.special")

__all__ = [
    "clip_factors", "clip_factors_pairs", "clip_factors_normalised", "sign_drift",
    "sign_drift_batch", "sign_batch_gain", "residual_scale",
]

FloatArray = npt.NDArray[np.float64]
Method = Literal["auto", "quadrature"]

_SQRT2 = math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
_EDGE = 12.0
_QUAD_RTOL = 1e-10
_QUAD_LIMIT = 200
_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
_GL8_X, _GL8_W = np.polynomial.legendre.leggauss(8)
_CLOSED = (Gaussian, Laplace, Uniform, GaussianMixture)


def _risks(R: npt.ArrayLike) -> FloatArray:
    r = np.asarray(R, dtype=np.float64)
    if not np.all(np.isfinite(r) & (r >= 0.0)):
        raise ValueError(f"the risk R must be finite and >= 0, got {R!r}")
    return r


def _phi(z: FloatArray) -> FloatArray:
    return np.exp(-0.5 * z * z) * _INV_SQRT2PI


def _window(m: npt.ArrayLike, s: npt.ArrayLike, c: float) -> tuple[FloatArray, ...]:
    """X ~ N(m, s^2), s >= 0: (P, Q, M1, M2, M3), P = P(|X| <= c), Q = 1 - P, M_k = E[X^k; |X| <= c]
    by Stein's recurrence M_k = m M_(k-1) + (k-1) s^2 M_(k-2) + s^2 [(-c)^(k-1) p(-c) - c^(k-1)
    p(c)]; P, Q as sums of positive erf/erfc terms (or one-tail erfc differences); narrow windows
    (c < s/4, |m| c <= s^2) by 8-point Gauss-Legendre across [-c, c]."""
    m, s = np.broadcast_arrays(np.asarray(m, dtype=np.float64), np.asarray(s, dtype=np.float64))
    am, sgn, pos = np.abs(m), np.sign(m), s > 0.0
    ss = np.where(pos, s, 1.0)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        x, y = (c - am) / (ss * _SQRT2), (c + am) / (ss * _SQRT2)
        p = np.where(x > -0.5, 0.5 * (special.erf(x) + special.erf(y)),
                     0.5 * (special.erfc(-x) - special.erfc(y)))
        q = 0.5 * (special.erfc(x) + special.erfc(y))
        phi_a, phi_b = _phi(_SQRT2 * x), _phi(_SQRT2 * y)
        dphi = phi_a * np.expm1(-2.0 * c * am / (ss * ss))  # phi(b') - phi(a'), no cancellation
        m1 = am * p + ss * dphi
        m2 = (am * am + ss * ss) * p - ss * ((c - am) * phi_b + (c + am) * phi_a)
        m2 = np.where(am == 0.0, ss * ss * special.gammainc(1.5, (c / ss) ** 2 / 2.0), m2)
        m2 = np.where(p > 0.0, np.clip(m2, 0.0, c * c * p), 0.0)
        m3 = am * m2 + 2.0 * ss * ss * m1 + c * c * ss * dphi
        h = c / ss
        narrow = pos & (h < 0.25) & (h * am / ss <= 1.0)
        dens = h[..., None] * _GL8_W * _phi(h[..., None] * _GL8_X - (am / ss)[..., None])
        g = [np.where(narrow, np.sum(dens * _GL8_X**k, axis=-1) * c**k, old)
             for k, old in enumerate((p, m1, m2, m3))]
    inside = (am <= c).astype(np.float64)
    return (np.where(pos, g[0], inside), np.where(pos, q, 1.0 - inside),
            sgn * np.where(pos, g[1], am * inside), np.where(pos, g[2], am**2 * inside),
            sgn * np.where(pos, g[3], am**3 * inside))


def _atoms(values: FloatArray, probs: FloatArray, s: FloatArray, c: float) -> tuple[FloatArray,
                                                                                    FloatArray]:
    """sum_i p_i (window of N(v_i, s_i^2)): exact for discrete laws and Gaussian mixtures."""
    p, q, _, m2, _ = _window(values, s, c)
    return np.sum(probs * p, axis=-1), np.sum(probs * (m2 + c * c * q), axis=-1)


def _gaussian(sd: float, v: FloatArray, c: float) -> tuple[FloatArray, FloatArray]:
    """r ~ N(0, s^2), s^2 = 2R + sd^2, z = c/s: mu = erf(z/sqrt 2), nu_bar = s^2 F(z) + c^2
    erfc(z/sqrt 2) with F(z) = E[Z^2; |Z| <= z] = P(chi2_3 <= z^2) (no cancellation)."""
    s = np.hypot(v, sd)
    with np.errstate(over="ignore", divide="ignore"):
        h = (c / s) ** 2 / 2.0
    return special.gammainc(0.5, h), s * s * special.gammainc(1.5, h) + c * c * special.gammaincc(
        0.5, h)


def _exp_tail(t: float, v: FloatArray, b: float) -> FloatArray:
    """A(t) = E[exp((w - t)/b); w < t], w ~ N(0, v^2): exp(rho^2/2 - t/b) Phi(t/v - rho) with
    rho = v/b, through erfcx where Phi(t/v - rho) is small (no overflow, exact tails)."""
    pos = v > 0.0
    vs = np.where(pos, v, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        rho, u = vs / b, t / vs
        w = u - rho
        out = np.where(w < 0, 0.5 * np.exp(-0.5 * u * u) * special.erfcx(-w / _SQRT2),
                       np.exp(rho * (0.5 * rho - u)) * special.ndtr(w))
    return np.where(pos, out, math.exp(-t / b) if t > 0 else 0.0)


def _laplace(b: float, v: FloatArray, c: float) -> tuple[FloatArray, ...]:
    """eps = +-b E, E ~ Exp(1); the window is even, so eps = b E suffices. Given w = V Z,
    E_E[X^k; |X| <= c] for X = b E + w is P_k(w) 1(|w| <= c) + P_k(-c) e^((w + c)/b) 1(w < -c)
    - P_k(c) e^((w - c)/b) 1(w < c), P_0 = 1, P_2(y) = y^2 + 2 b y + 2 b^2. The terms cancel for
    c << b; also returns where 12 digits survive (the caller integrates the rest numerically)."""
    pos = v > 0.0
    with np.errstate(over="ignore"):
        h = (c / np.where(pos, v, 1.0)) ** 2 / 2.0
    p0 = np.where(pos, special.gammainc(0.5, h), 1.0)  # P(|w| <= c)
    q0 = np.where(pos, special.gammaincc(0.5, h), 0.0)
    e2 = np.where(pos, v * v * special.gammainc(1.5, h), 0.0)  # E[w^2; |w| <= c]
    ap, am = _exp_tail(c, v, b), _exp_tail(-c, v, b)
    p2m, p2p = c * c - 2 * b * c + 2 * b * b, c * c + 2 * b * c + 2 * b * b
    mu = np.clip(p0 + am - ap, 0.0, 1.0)
    nu = np.clip(e2 + 2 * b * b * p0 + p2m * am - p2p * ap + c * c * (q0 - am + ap), 0.0, c * c)
    size = e2 + 2 * b * b * p0 + p2m * am + p2p * ap + c * c * (q0 + am + ap)
    return mu, nu, (p0 + am + ap <= 1e4 * mu) & (size <= 1e4 * nu)


def _uniform(a: float, v: FloatArray, c: float) -> tuple[FloatArray, FloatArray]:
    """eps ~ U[-a, a]; Y ~ N(a, V^2). mu = E[clip(Y, -c, c)]/a = (V/2a) int_l^u erf(t/sqrt 2) dt
    (l = |c - a|/V, u = (c + a)/V): Gauss-Legendre if u - l <= 2, else min(a, c)/a +
    (V/a)(G(u) - G(l)), G(t) = phi(t) - t Phi(-t). nu_bar = c^2 - E[H(Y)]/a with H odd,
    H' = (c^2 - y^2)_+: E[H(Y)] = c^2 M1 - M3/3 + (2c^3/3)(P(Y > c) - P(Y < -c)); if
    c >= a + 12 V, nu_bar = a^2/3 + V^2 (to ~1e-30 relative)."""
    _, _, m1, _, m3 = _window(np.full_like(v, a), v, c)
    pos = v > 0.0
    vs = np.where(pos, v, 1.0)
    lo, hi, k = abs(c - a) / vs, (c + a) / vs, min(a, c) / a
    nodes = 0.5 * (hi + lo)[..., None] + 0.5 * (hi - lo)[..., None] * _GL_X
    with np.errstate(over="ignore", invalid="ignore"):
        g = _phi(hi) - hi * special.ndtr(-hi) - _phi(lo) + lo * special.ndtr(-lo)
        mu = np.where(hi - lo <= 2.0, k * (special.erf(nodes / _SQRT2) @ _GL_W) / 2, k + vs / a * g)
        al, be = (c - a) / vs / _SQRT2, (c + a) / vs / _SQRT2
        d = np.where(al >= 1.0, special.erfc(al) - special.erfc(be),
                     special.erf(be) - special.erf(al)) / 2.0
    mu, d = np.where(pos, mu, k), np.where(pos, d, float(a > c))
    nu = c * c - (c * c * m1 - m3 / 3.0 + 2.0 * c**3 / 3.0 * d) / a
    nu = np.where(c >= a + _EDGE * v, a * a / 3.0 + v * v, nu)
    return np.clip(mu, 0.0, 1.0), np.clip(nu, 0.0, c * c)


def _closed_form(noise: NoiseLaw, v: FloatArray, c: float) -> tuple[FloatArray, ...]:
    """(mu, nu_bar, where they are accurate) in closed form."""
    if isinstance(noise, Laplace) and not noise.is_discrete:
        return _laplace(noise.scale, v, c)
    if noise.is_discrete:
        vals, probs = noise.atoms()
        out = _atoms(vals, probs, np.broadcast_to(v[..., None], v.shape + vals.shape), c)
    elif isinstance(noise, Gaussian):
        out = _gaussian(noise.std, v, c)
    elif isinstance(noise, Uniform):
        out = _uniform(noise.half_width, v, c)
    else:
        assert isinstance(noise, GaussianMixture)
        sd = np.hypot(np.asarray(noise.stds), v[..., None])
        out = _atoms(np.asarray(noise.means), np.asarray(noise.weights), sd, c)
    return *out, np.ones(v.shape, dtype=bool)


def _scalar_pdf(noise: NoiseLaw) -> Callable[[float], float]:
    """A float -> float density: math-module fast paths for the laws that use quadrature in
    ``method="auto"``, ``noise.pdf`` for every other law."""
    if type(noise) is StudentT:
        df, sc, half = noise.df, noise.scale, 0.5 * (noise.df + 1.0)
        lnorm = math.lgamma(half) - math.lgamma(0.5 * df) - 0.5 * math.log(df * math.pi * sc * sc)
        return lambda e: math.exp(lnorm - half * math.log1p((e / sc) * (e / sc) / df))
    if type(noise) is CenteredExponential:
        b = noise.scale
        return lambda e: math.exp(-(e / b + 1.0)) / b if e >= -b else 0.0
    if type(noise) is Laplace:
        b = noise.scale
        return lambda e: math.exp(-abs(e) / b) / (2.0 * b)
    return lambda e: float(noise.pdf(e))


def _landmarks(noise: NoiseLaw) -> tuple[float, list[float]]:
    """(width of the density's central peak, |points| where the density has kinks or peaks)."""
    if isinstance(noise, GaussianMixture):
        return min(noise.stds), [abs(m) for m in noise.means]
    for field in ("scale", "std", "half_width"):
        if isinstance(getattr(noise, field, None), float) and getattr(noise, field) > 0:
            kink = isinstance(noise, Uniform | CenteredExponential)
            return getattr(noise, field), [getattr(noise, field)] if kink else []
    var = noise.variance
    return (math.sqrt(var) if math.isfinite(var) and var > 0 else 1.0), []


def _quad_sum(f: Callable[[float], float], pts: list[float]) -> float:
    """Integral of f >= 0 over [0, pts[-1]] (pts sorted, pts[0] = 0), adaptive Gauss-Kronrod: runs
    of pieces [a, b] with b > 2a > 0 in u = log e (QAGP, breakpoints at the inner points), others
    in e. Calls reporting roundoff are redone with absolute tolerance 1e-14 times the total."""

    def fu(u: float) -> float:
        e = math.exp(u)
        return f(e) * e

    calls: list[tuple[Callable[[float], float], float, float, list[float] | None]] = []
    group: list[float] = []  # consecutive pieces [a, b] with b > 2a > 0, integrated in log e
    for a, b in [*zip(pts[:-1], pts[1:], strict=True), (math.inf, math.inf)]:
        if 0.0 < a and 2.0 * a < b < math.inf:
            group += [a, b] if not group else [b]
            continue
        if group:
            logs = [math.log(x) for x in group]
            calls.append((fu, logs[0], logs[-1], logs[1:-1] or None))
            group = []
        if b < math.inf:
            calls.append((f, a, b, None))

    def run(i: int, atol: float) -> tuple[float, bool]:
        g, a, b, brk = calls[i]
        out = integrate.quad(g, a, b, epsabs=atol, epsrel=_QUAD_RTOL, limit=_QUAD_LIMIT,
                             points=brk, full_output=1)
        return out[0], len(out) == 3 or out[1] <= 1e3 * atol

    first = [run(i, 0.0) for i in range(len(calls))]
    vals = [val for val, _ in first]
    atol = 1e-14 * abs(math.fsum(vals))
    for i in (i for i, (_, ok) in enumerate(first) if not ok):
        vals[i], ok = run(i, atol)
        if not ok:
            warnings.warn(f"clip_factors: quadrature over [0, {pts[-1]:g}] may be inaccurate",
                          integrate.IntegrationWarning, stacklevel=3)
    return math.fsum(vals)


def _quadrature(noise: NoiseLaw, v: float, c: float) -> tuple[float, float]:
    """mu, nu_bar at one V = sqrt(2R): integrals over e >= 0 of (p(e) + p(-e)) times
    P(|X| <= c) and E[min(X^2, c^2)], X ~ N(e, V^2) (both even in e)."""
    p = _scalar_pdf(noise)
    scale, kinks = _landmarks(noise)
    end = c + _EDGE * v
    grid = sorted({0.0, c, end, max(c - _EDGE * v, 0.0), *(k for k in (scale, *kinks) if k < end)})
    if isinstance(noise, StudentT | Laplace | Uniform | Gaussian):  # P(|eps| > end), symmetric
        tail = 2.0 * float(noise.cdf(-end))
    elif isinstance(noise, CenteredExponential):
        tail = float(noise.cdf(-end)) + math.exp(-(end / noise.scale + 1.0))
    else:
        tail = float(noise.cdf(-end)) + (1.0 - float(noise.cdf(end)))
    inv, h = 1.0 / (v * _SQRT2) if v > 0 else math.inf, c / v if v > 0 else math.inf
    # narrow window: 8-point Gauss-Legendre across [-c, c]; phi at the nodes +-tau_j is
    # phi(mid) exp(-h^2 tau_j^2 / 2) exp(-+ mid h tau_j), paired into cosh(mid h tau_j)
    tau = _GL8_X[4:].tolist()
    wa = [2.0 * w * math.exp(-0.5 * (h * t) ** 2) if v > 0 else 0.0
          for t, w in zip(tau, _GL8_W[4:].tolist(), strict=True)]
    wb = [w * (1.0 - t * t) for w, t in zip(wa, tau, strict=True)]

    def win(e: float) -> tuple[float, float]:
        """(P(|X| <= c), E[min(X^2, c^2)]) for X ~ N(e, V^2), 0 <= e <= end."""
        if v == 0.0:
            return 1.0, e * e
        mid = e / v
        if h < 0.25 and mid * h <= 1.0:  # P <= 0.2: c^2 - E[(c^2 - X^2)_+] does not cancel
            base = h * _INV_SQRT2PI * math.exp(-0.5 * mid * mid)
            ch = [math.cosh(mid * h * t) for t in tau]
            return base * sum(x * y for x, y in zip(wa, ch, strict=True)), c * c * (
                1.0 - base * sum(x * y for x, y in zip(wb, ch, strict=True)))
        x, y = (c - e) * inv, (c + e) * inv
        pr = 0.5 * (math.erf(x) + math.erf(y)) if x > -0.5 else 0.5 * (
            math.erfc(-x) - math.erfc(y))
        if pr <= 0.0:
            return 0.0, c * c
        m2 = (e * e + v * v) * pr - v * _INV_SQRT2PI * (
            (c - e) * math.exp(-y * y) + (c + e) * math.exp(-x * x))
        return pr, min(max(m2, 0.0), c * c * pr) + c * c * 0.5 * (math.erfc(x) + math.erfc(y))

    mu = _quad_sum(lambda e: (p(e) + p(-e)) * win(e)[0], grid)
    nu = _quad_sum(lambda e: (p(e) + p(-e)) * win(e)[1], grid)
    return mu, nu + c * c * tail


def clip_factors(
    noise: NoiseLaw, R: npt.ArrayLike, c: float, *, method: Method = "auto"
) -> tuple[FloatArray, FloatArray]:
    """Per-sample clipping factors (mu, nu_bar) at risks R >= 0 for the residual threshold c > 0.

    With r = sqrt(2R) Z - eps (Z ~ N(0, 1) independent of eps): ``mu = P(|r| <= c)`` and
    ``nu_bar = E[min(r^2, c^2)]``, the UNNORMALISED variance factor (the NORMALISED
    nu = nu_bar / (2R + E eps^2) is :func:`clip_factors_normalised`). These are mu_c and nu_bar_c
    of Marshall, Xiao, Agarwala, Paquette, arXiv 2406.11733, in the C-HSGD ODE
    dv_i/dt = -2 eta mu lambda_i v_i + eta^2 lambda_i nu_bar / (2d). c = inf gives the unclipped
    mu = 1, nu_bar = 2R + E eps^2.

    Closed forms (vectorised) for Gaussian, Laplace, Uniform, Gaussian mixtures and discrete laws
    (Laplace with c << scale falls back to quadrature where its closed form would lose digits);
    adaptive quadrature (~1-2 ms per R value) for other laws, or for every law with a density when
    ``method="quadrature"`` (discrete laws are always exact finite sums). R = 0 is exact
    (r = -eps). Returns two float64 arrays of R's shape.
    """
    r = _risks(R)
    c = float(c)
    if not c > 0.0:
        raise ValueError(f"the residual threshold c must be > 0, got {c!r}")
    if method not in ("auto", "quadrature"):
        raise ValueError(f"method must be 'auto' or 'quadrature', got {method!r}")
    if math.isinf(c):
        return np.ones_like(r), 2.0 * r + noise.second_moment
    v = np.sqrt(2.0 * r).reshape(-1)
    if noise.is_discrete or (method == "auto" and type(noise) in _CLOSED):
        mu, nu, ok = _closed_form(noise, v, c)
    else:
        mu, nu, ok = np.zeros_like(v), np.zeros_like(v), np.zeros(v.shape, dtype=bool)
    for i in np.flatnonzero(~ok):
        mu[i], nu[i] = _quadrature(noise, float(v[i]), c)
    return mu.reshape(r.shape), nu.reshape(r.shape)


def clip_factors_pairs(
    noise: NoiseLaw, R: npt.ArrayLike, c: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """:func:`clip_factors` on the broadcast of arrays R and c (a threshold per risk).

    One vectorised evaluation for Gaussian noise, Gaussian mixtures and discrete laws (their
    closed forms take a threshold per point); one :func:`clip_factors` call per distinct c for
    the other laws. c = inf gives the unclipped factors.
    """
    r, cc = np.broadcast_arrays(_risks(R), np.asarray(c, dtype=np.float64))
    if not np.all(cc > 0.0):
        raise ValueError(f"the residual threshold c must be > 0, got {c!r}")
    mu, nu = np.empty(r.shape), np.empty(r.shape)
    fr, fc, fm, fn = r.reshape(-1), cc.reshape(-1), mu.reshape(-1), nu.reshape(-1)
    inf = np.isinf(fc)
    fm[inf], fn[inf] = 1.0, 2.0 * fr[inf] + noise.second_moment
    fin = ~inf
    v, cf = np.sqrt(2.0 * fr[fin]), fc[fin]
    if noise.is_discrete:
        vals, probs = noise.atoms()
        fm[fin], fn[fin] = _atoms(vals, probs, np.broadcast_to(v[:, None], v.shape + vals.shape),
                                  cf[:, None])
    elif type(noise) is Gaussian:
        fm[fin], fn[fin] = _gaussian(noise.std, v, cf)
    elif type(noise) is GaussianMixture:
        sd = np.hypot(np.asarray(noise.stds), v[:, None])
        fm[fin], fn[fin] = _atoms(np.asarray(noise.means), np.asarray(noise.weights), sd,
                                  cf[:, None])
    else:
        idx = np.flatnonzero(fin)
        for value in np.unique(cf):
            sel = idx[cf == value]
            fm[sel], fn[sel] = clip_factors(noise, fr[sel], float(value))
    return mu, nu


def residual_scale(noise: NoiseLaw, R: npt.ArrayLike) -> FloatArray:
    """sqrt(E r^2) = sqrt(2R + E eps^2) (inf where E eps^2 is infinite), R's shape."""
    return np.sqrt(2.0 * _risks(R) + noise.second_moment)


def clip_factors_normalised(
    noise: NoiseLaw, R: npt.ArrayLike, c: float, *, method: Method = "auto"
) -> tuple[FloatArray, FloatArray]:
    """(mu, nu) with the NORMALISED variance factor nu = nu_bar / (2R + E eps^2).

    mu as in :func:`clip_factors` (which returns the UNNORMALISED nu_bar); nu is the convention of
    the criteria of Marshall, Xiao, Agarwala, Paquette, arXiv 2406.11733 (stability mu/nu,
    comparison mu^2/nu; unclipped nu = 1). Where 2R + E eps^2 = 0 (no noise, R = 0) nu is its
    limit 1. ``ValueError`` if E eps^2 = inf (Cauchy, Student t with df <= 2).
    """
    sm = noise.second_moment
    if not math.isfinite(sm):
        raise ValueError(f"{noise!r} has E[eps^2] = inf, so the normalised variance factor "
                         "nu = nu_bar / (2R + E eps^2) does not exist; only the unnormalised "
                         "nu_bar exists (use clip_factors)")
    mu, nu_bar = clip_factors(noise, R, c, method=method)
    den = 2.0 * np.asarray(R, dtype=np.float64) + sm
    with np.errstate(invalid="ignore", divide="ignore"):
        return mu, np.where(den > 0.0, nu_bar / den, 1.0)


def sign_drift(noise: NoiseLaw, R: npt.ArrayLike) -> FloatArray:
    """signSGD drift factor c(R) = 2 sqrt(2/pi) p_{eps + sqrt(2R) Z}(0)
    = (2/pi) E[exp(-eps^2/(4R))] / sqrt(2R), with E[sign(g)] ~ c(R) D^(-1/2) K (theta - theta*)
    (Xiao, Marshall, Agarwala, Paquette, arXiv 2411.12135).

    Gaussian N(0, sigma^2): (2/pi)/sqrt(2R + sigma^2). R = 0: sqrt(8/pi) p_eps(0) for a law with a
    density; for a discrete law inf with an atom at 0 (NoNoise), else 0. Discrete laws, Gaussian
    and Uniform are closed forms; others use ``noise.smoothed_pdf(0, sqrt(2R))``. R's shape.
    """
    r = _risks(R)
    flat = r.reshape(-1)
    pos = flat > 0.0
    if noise.is_discrete:
        vals, probs = noise.atoms()
        rr = np.where(pos, flat, 1.0)
        out = 2.0 / math.pi * (np.exp(-vals**2 / (4.0 * rr[:, None])) @ probs) / np.sqrt(2.0 * rr)
        out = np.where(pos, out, math.inf if np.any(probs[vals == 0.0] > 0) else 0.0)
    elif type(noise) is Gaussian:
        out = 2.0 / math.pi / np.hypot(np.sqrt(2.0 * flat), noise.std)
    elif type(noise) is Uniform:  # p(0) = erf(a / (V sqrt 2)) / (2a), no cancellation for V >> a
        a = noise.half_width
        with np.errstate(divide="ignore"):
            out = math.sqrt(2.0 / math.pi) * special.erf(a / np.sqrt(4.0 * flat)) / a
    else:
        k = 2.0 * math.sqrt(2.0 / math.pi)
        out = np.array([k * float(noise.smoothed_pdf(0.0, math.sqrt(2.0 * x))) if x > 0.0
                        else k * noise.density_at_zero() for x in flat])
    return np.asarray(out, dtype=np.float64).reshape(r.shape)


# sign_drift_batch: trapezoid step in w = log x and the reach of the grid below and above
_SB_STEP = 0.2
_SB_LOW = 70.0  # e-folds below min(R, scale^2), divided by (B - 1): the integrand ~ x^((B-1)/2)
_SB_HIGH = 34.0  # e-folds above max(R, scale^2); beyond, h = 1 and the tail is 2 / sqrt(X)


def sign_batch_gain(batch_size: int) -> float:
    """a_B = (2 / sqrt(pi)) Gamma((B + 1)/2) / Gamma(B/2) = sqrt(2/pi) E|chi_B|: the signSGD
    drift factor of noiseless or Gaussian residuals, c_B(R) = a_B / sqrt(2R + sigma^2)
    (a_1 = 2/pi; a_B ~ sqrt(2B/pi) for large B)."""
    b = _batch(batch_size)
    return 2.0 / math.sqrt(math.pi) * math.exp(math.lgamma(0.5 * (b + 1)) - math.lgamma(0.5 * b))


def _batch(batch_size: int) -> int:
    if (isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer)
            or batch_size < 1):
        raise ValueError(f"the batch size B must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def sign_drift_batch(
    noise: NoiseLaw, R: npt.ArrayLike, batch_size: int, *,
    drift: Callable[[FloatArray], FloatArray] | None = None,
) -> FloatArray:
    """signSGD drift factor c_B(R) for the sign of the mean gradient of a batch of B samples,
    E[sign(g)] ~ c_B(R) D^(-1/2) K (theta - theta*) (docs/theory/signsgd.md section 13).

    With the batch residuals r_b = u_b - eps_b (u_b ~ N(0, 2R) and eps_b i.i.d.),
    c_B(R) = sqrt(2/pi) E[sum_b u_b r_b / |r|] / (2R) = sqrt(2/pi) (B - 1) E[1 / |r|] for B >= 2
    (Stein's lemma), and with 1/|r| = (2/sqrt(pi)) int_0^inf exp(-s^2 |r|^2) ds,

        c_B(R) = (B - 1) / (pi sqrt 2) int_0^inf x^((B-3)/2) (R + x)^(-B/2) h(R + x)^B dx,
        h(R) = (pi/2) sqrt(2R) c(R) in (0, 1],

    c = c_1 = :func:`sign_drift`; equivalently c_B = (a_B / sqrt(2R)) E[h(R / (1 - Y))^B],
    Y ~ Beta((B - 1)/2, 1/2), a_B = :func:`sign_batch_gain`. Gaussian noise N(0, sigma^2) and
    no noise: a_B / sqrt(2R + sigma^2) in closed form. Other laws: trapezoid rule in log x
    (step 0.2) on a grid covering all of R's values, h = 1 and the tail 2 / sqrt(X) beyond
    its end. ``drift`` replaces c_1 by a vectorised callable (the theory passes its table of
    c_1, so that a table of c_B costs no quadrature over the noise law); B = 1 returns
    ``sign_drift(noise, R)`` (or ``drift(R)``). R's shape.
    """
    r = _risks(R)
    b = _batch(batch_size)
    c1 = drift if drift is not None else (lambda x: sign_drift(noise, x))
    if b == 1:
        return np.asarray(c1(r), dtype=np.float64).reshape(r.shape)
    gain = sign_batch_gain(b)
    if type(noise) is Gaussian or isinstance(noise, NoNoise):
        sd = noise.std if type(noise) is Gaussian else 0.0
        with np.errstate(divide="ignore"):
            return gain / np.hypot(np.sqrt(2.0 * r), sd)
    flat = r.reshape(-1)
    scale2 = _landmarks(noise)[0] ** 2  # where h(R) turns from sqrt(R) p(0) to 1
    pos = flat[flat > 0.0]
    lo = math.log(min(scale2, float(pos.min()) if pos.size else scale2)) - _SB_LOW / (b - 1)
    hi = math.log(max(scale2, float(flat.max()))) + _SB_HIGH
    n = int(math.ceil((hi - lo) / _SB_STEP))
    w = lo + (hi - lo) * np.arange(n + 1) / n
    step = (hi - lo) / n
    x = np.exp(w)
    rr = flat[:, None] + x[None, :]
    h = 0.5 * math.pi * np.sqrt(2.0 * rr) * np.asarray(
        c1(rr.reshape(-1)), dtype=np.float64).reshape(rr.shape)
    with np.errstate(divide="ignore"):
        logf = 0.5 * (b - 1) * w - 0.5 * b * np.log(rr) + b * np.log(np.maximum(h, 0.0))
    f = np.exp(logf)
    total = step * (f.sum(axis=1) - 0.5 * (f[:, 0] + f[:, -1])) + 2.0 * math.exp(-0.5 * hi)
    return ((b - 1) / (math.pi * _SQRT2) * total).reshape(r.shape)
