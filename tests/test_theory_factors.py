"""Tests of optdyn.theory.factors: the clipping factors mu = P(|r| <= c), nu_bar = E[min(r^2, c^2)]
(r = sqrt(2R) Z - eps) and the signSGD drift c(R) against Monte Carlo for every noise law, closed
forms against the quadrature path, exact values at R = 0, asymptotics and validation."""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special

from optdyn.noise import (
    Cauchy,
    CenteredExponential,
    Gaussian,
    GaussianMixture,
    Laplace,
    NoiseLaw,
    NoNoise,
    Rademacher,
    SparseRademacher,
    StudentT,
    Uniform,
)
from optdyn.theory.factors import (
    clip_factors,
    clip_factors_normalised,
    residual_scale,
    sign_drift,
)

N_MC = 4_000_000
Z_TOL = 5.0  # Monte Carlo: within 5 standard errors (or 1e-3 relative, whichever is larger)
MC_R = (1e-4, 0.05, 1.0, 20.0)
MC_C = (0.3, 1.0, 3.0)

MIX_W, MIX_M, MIX_S = (0.5, 0.3, 0.2), (-1.0, 0.5, 2.0), (0.3, 0.6, 0.2)
SPARSE_AMP = 1.0 / math.sqrt(0.2)  # SparseRademacher(q=0.2, std=1): +-std/sqrt(q) w.p. q/2 each


def _mixture_draws(g: np.random.Generator, n: int) -> np.ndarray:
    k = g.choice(3, n, p=MIX_W)
    return np.take(MIX_M, k) + np.take(MIX_S, k) * g.standard_normal(n)


# name -> (law, numpy sampler written from the documented parametrisation)
LAWS: dict[str, tuple[NoiseLaw, Callable[[np.random.Generator, int], np.ndarray]]] = {
    "gaussian": (Gaussian(0.7), lambda g, n: 0.7 * g.standard_normal(n)),
    "none": (NoNoise(), lambda g, n: np.zeros(n)),
    "laplace": (Laplace(0.5), lambda g, n: g.laplace(0.0, 0.5, n)),
    "uniform": (Uniform(1.2), lambda g, n: g.uniform(-1.2, 1.2, n)),
    "rademacher": (Rademacher(0.8), lambda g, n: 0.8 * g.choice([-1.0, 1.0], n)),
    "sparse_rademacher": (
        SparseRademacher(0.2, 1.0),
        lambda g, n: SPARSE_AMP * g.choice([-1.0, 0.0, 1.0], n, p=[0.1, 0.8, 0.1]),
    ),
    "gaussian_mixture": (GaussianMixture(MIX_W, MIX_M, MIX_S), _mixture_draws),
    "student_t3": (StudentT(3.0, 0.8), lambda g, n: 0.8 * g.standard_t(3.0, n)),
    "cauchy": (Cauchy(0.5), lambda g, n: 0.5 * g.standard_cauchy(n)),
    "centered_exponential": (
        CenteredExponential(0.9),
        lambda g, n: 0.9 * (g.exponential(1.0, n) - 1.0),
    ),
}
NAMES = list(LAWS)
CONTINUOUS = [k for k in NAMES if not LAWS[k][0].is_discrete]
FINITE_VAR = [k for k in NAMES if math.isfinite(LAWS[k][0].second_moment)]
CLOSED = ["gaussian", "laplace", "uniform", "gaussian_mixture"]
KINKS = {"laplace": [0.0], "uniform": [-1.2, 1.2], "centered_exponential": [-0.9]}


def law_of(name: str) -> NoiseLaw:
    return LAWS[name][0]


def eps_draws(name: str, n: int = N_MC, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng([20240611, NAMES.index(name), seed])
    return np.asarray(LAWS[name][1](rng, n), dtype=np.float64)


def density_r0(law: NoiseLaw, r: float) -> float:
    """p_r(0): density at 0 of eps + sqrt(2R) Z (r has the law of -(eps + sqrt(2R) Z))."""
    return float(law.smoothed_pdf(0.0, math.sqrt(2.0 * r)))


def assert_mc(est: float, mc: float, se: float, n: int, what: str) -> float:
    """|est - mc| <= max(5 SE, 1e-3 |mc|) (+ one sample's weight for a degenerate MC); the
    tolerance must be a small fraction of the value unless the value is ~0. Returns rel. error."""
    tol = max(Z_TOL * se, 1e-3 * abs(mc)) + 5.0 / n
    assert tol <= 0.03 * abs(mc) or abs(mc) < 1e-4, f"{what}: Monte Carlo too noisy ({tol})"
    assert abs(est - mc) <= tol, f"{what}: {est} vs Monte Carlo {mc} +- {se} (tol {tol})"
    return abs(est - mc) / abs(mc) if abs(mc) >= 1e-4 else 0.0


# ---------------------------------------------------------------------------------------------
# Monte Carlo


@pytest.mark.parametrize("name", NAMES)
def test_clip_factors_monte_carlo(name: str) -> None:
    law, eps = law_of(name), eps_draws(name)
    rng = np.random.default_rng([7, NAMES.index(name)])
    worst = 0.0
    for r in MC_R:
        mu, nu = clip_factors(law, np.array(r), np.float64(MC_C[0]))
        assert mu.shape == () and nu.shape == ()
        res = np.sqrt(2.0 * r) * rng.standard_normal(N_MC) - eps
        a2 = res * res
        for c in MC_C:
            mu, nu = clip_factors(law, r, c)
            inside = a2 <= c * c
            p = inside.mean()
            m = np.minimum(a2, c * c)
            what = f"{name} R={r} c={c}"
            worst = max(worst, assert_mc(float(mu), p, math.sqrt(p * (1 - p) / N_MC), N_MC,
                                         f"mu {what}"))
            worst = max(worst, assert_mc(float(nu), m.mean(), m.std() / math.sqrt(N_MC), N_MC,
                                         f"nu_bar {what}"))
    assert worst < 5e-3


@pytest.mark.parametrize("name", NAMES)
def test_sign_drift_monte_carlo_or_exact_sum(name: str) -> None:
    law = law_of(name)
    rs = np.array(MC_R)
    got = sign_drift(law, rs)
    assert got.shape == rs.shape
    if law.is_discrete:
        vals, probs = law.atoms()
        for r, g in zip(rs, got, strict=True):
            exact = 2.0 / math.pi * math.fsum(probs * np.exp(-vals**2 / (4 * r))) / math.sqrt(2 * r)
            assert g == pytest.approx(exact, rel=1e-13)
        return
    eps = eps_draws(name, seed=1)
    for r, g in zip(rs, got, strict=True):
        f = 2.0 / math.pi * np.exp(-eps * eps / (4 * r)) / math.sqrt(2 * r)
        assert_mc(float(g), f.mean(), f.std() / math.sqrt(N_MC), N_MC, f"c(R) {name} R={r}")


@pytest.mark.parametrize("name", NAMES)
def test_jax_sampler_matches_factors(name: str) -> None:
    """The simulator's own sampler (noise.sample) against the theory at R = 1, c = 1."""
    law, n = law_of(name), 400_000
    eps = np.asarray(law.sample(jax.random.PRNGKey(NAMES.index(name)), (n,), jnp.float64))
    z = np.random.default_rng(3).standard_normal(n)
    a2 = (math.sqrt(2.0) * z - eps) ** 2
    mu, nu = clip_factors(law, 1.0, 1.0)
    p, m = np.mean(a2 <= 1.0), np.minimum(a2, 1.0)
    assert_mc(float(mu), p, math.sqrt(p * (1 - p) / n), n, f"mu {name}")
    assert_mc(float(nu), m.mean(), m.std() / math.sqrt(n), n, f"nu_bar {name}")


# ---------------------------------------------------------------------------------------------
# exact values, closed forms against quadrature


def line_integral(f, points) -> float:
    edges = [-math.inf, *sorted(set(points)), math.inf]
    return math.fsum(integrate.quad(f, a, b, epsabs=1e-14, epsrel=1e-12, limit=400)[0]
                     for a, b in zip(edges[:-1], edges[1:], strict=True) if a < b)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("c", [0.3, 1.0, 3.0])
def test_risk_zero_is_the_noise_law(name: str, c: float) -> None:
    """R = 0: r = -eps, so mu = P(|eps| <= c) and nu_bar = E[min(eps^2, c^2)]."""
    law = law_of(name)
    mu, nu = clip_factors(law, 0.0, c)
    if law.is_discrete:
        vals, probs = law.atoms()
        exp_mu = np.sum(probs[np.abs(vals) <= c])
        exp_nu = np.sum(probs * np.minimum(vals**2, c * c))
    else:
        pts = [-c, c, 0.0, *KINKS.get(name, [])]
        exp_mu = float(law.cdf(c) - law.cdf(-c))
        exp_nu = line_integral(lambda e: min(e * e, c * c) * float(law.pdf(e)), pts)
    assert mu == pytest.approx(exp_mu, rel=1e-9, abs=1e-15)
    assert nu == pytest.approx(exp_nu, rel=1e-8, abs=1e-15)


@pytest.mark.parametrize("name", CLOSED)
def test_closed_forms_match_quadrature(name: str) -> None:
    law = law_of(name)
    rs = np.array([0.0, 1e-12, 1e-6, 1e-3, 0.05, 1.0, 20.0, 1e4, 1e8])
    for c in (0.01, 0.3, 1.0, 3.0, 30.0):
        mu, nu = clip_factors(law, rs, c)
        mq, nq = clip_factors(law, rs, c, method="quadrature")
        np.testing.assert_allclose(mq, mu, rtol=1e-8, atol=0, err_msg=f"mu c={c}")
        np.testing.assert_allclose(nq, nu, rtol=1e-8, atol=0, err_msg=f"nu_bar c={c}")


class _LaplaceViaDensity(Laplace):
    """Not exactly a Laplace, so clip_factors takes the generic path through pdf and cdf."""


def test_generic_law_goes_through_pdf_quadrature() -> None:
    rs = np.array([0.0, 1e-8, 0.05, 1.0, 1e5])
    for c in (0.2, 2.0):
        exact = clip_factors(Laplace(0.5), rs, c)
        generic = clip_factors(_LaplaceViaDensity(0.5), rs, c)
        np.testing.assert_allclose(generic, exact, rtol=1e-8, atol=0)


class _Logistic(NoiseLaw):
    """A law unknown to factors.py: logistic with scale s (density and cdf only)."""

    _law_name = "logistic"

    def __init__(self, s: float) -> None:
        self.s = s

    def sample(self, key, shape, dtype=jnp.float32):
        return self.s * jax.random.logistic(key, shape, dtype)

    @property
    def mean(self) -> float:
        return 0.0

    @property
    def variance(self) -> float:
        return (math.pi * self.s) ** 2 / 3.0

    def _pdf(self, x):
        z = np.exp(-np.abs(x) / self.s)
        return z / (self.s * (1.0 + z) ** 2)

    def _cdf(self, x):
        return special.expit(x / self.s)


class _ThreePoint(NoiseLaw):
    """Asymmetric zero-mean three-point law unknown to factors.py (docs/theory/clipping.md
    section A.4): +b w.p.
    a q/(a + b), 0 w.p. 1 - q, -a w.p. b q/(a + b)."""

    _law_name = "three_point"
    a, b, q = 0.5, 1.5, 0.6
    values = np.array([-a, 0.0, b])
    probs = np.array([b * q / (a + b), 1.0 - q, a * q / (a + b)])

    @property
    def is_discrete(self) -> bool:
        return True

    def atoms(self):
        return self.values, self.probs

    def sample(self, key, shape, dtype=jnp.float32):
        return jax.random.choice(key, jnp.asarray(self.values, dtype), shape, p=self.probs)

    @property
    def mean(self) -> float:
        return float(self.values @ self.probs)

    @property
    def variance(self) -> float:
        return float(self.values**2 @ self.probs)


def test_laws_unknown_to_the_module_monte_carlo() -> None:
    """Generic paths: quadrature over a user law's pdf, exact sums over a user law's atoms."""
    n, g = 2_000_000, np.random.default_rng(11)
    draws = {"logistic": g.logistic(0.0, 0.6, n),
             "three_point": g.choice(_ThreePoint.values, n, p=_ThreePoint.probs)}
    for law, eps in ((_Logistic(0.6), draws["logistic"]), (_ThreePoint(), draws["three_point"])):
        assert math.isclose(np.mean(eps), law.mean, abs_tol=5 * math.sqrt(law.variance / n))
        for r in (0.0, 0.05, 1.0):
            a2 = (math.sqrt(2 * r) * g.standard_normal(n) - eps) ** 2
            for c in (0.3, 1.0):
                mu, nu = clip_factors(law, r, c)
                p, m = np.mean(a2 <= c * c), np.minimum(a2, c * c)
                what = f"{law._law_name} R={r} c={c}"
                assert_mc(float(mu), p, math.sqrt(p * (1 - p) / n), n, f"mu {what}")
                assert_mc(float(nu), m.mean(), m.std() / math.sqrt(n), n, f"nu_bar {what}")


def test_student_t_quadrature_against_smoothed_cdf() -> None:
    """mu = P(|eps + V Z| <= c) from noise.smoothed_cdf (an independent quadrature), and
    nu_bar = c^2 - int_0^c 2t mu(t) dt by Gauss-Legendre in t."""
    law, c = StudentT(3.0, 0.8), 1.3
    x, w = np.polynomial.legendre.leggauss(40)
    for r in (1e-3, 0.5, 30.0):
        v = math.sqrt(2 * r)
        mu, nu = clip_factors(law, r, c)
        assert mu == pytest.approx(float(law.smoothed_cdf(c, v) - law.smoothed_cdf(-c, v)),
                                   rel=1e-9)
        ts = 0.5 * c * (x + 1.0)
        mus = np.array([clip_factors(law, r, t)[0] for t in ts])
        assert nu == pytest.approx(c * c - 0.5 * c * np.sum(w * 2.0 * ts * mus), rel=1e-9)


def test_cauchy_tiny_risk_against_arctan_formulas() -> None:
    """R = 0 in closed form: mu = (2/pi) atan(c/s), E[eps^2; |eps| <= c] = (2s/pi)(c - s atan(c/s));
    small R adds R (p(c) - p(-c))' ... precisely mu += 2R p'(c) and nu_bar += R (2 mu - 4c p(c))
    (Gaussian smoothing of the indicator and of min(x^2, c^2)), checked at R = 1e-6."""
    for s in (0.5, 1.0, 2.0):
        for c in (0.3, 1.0, 3.0):
            mu0 = 2.0 / math.pi * math.atan(c / s)
            nu0 = 2.0 * s / math.pi * (c - s * math.atan(c / s)) + c * c * (1.0 - mu0)
            mu, nu = clip_factors(Cauchy(s), 0.0, c)
            assert mu == pytest.approx(mu0, rel=1e-13) and nu == pytest.approx(nu0, rel=1e-13)
            np.testing.assert_allclose(clip_factors(Cauchy(s), 1e-12, c), (mu0, nu0), rtol=1e-6)
            p_c = s / (math.pi * (s * s + c * c))
            dp_c = -2.0 * c * s / (math.pi * (s * s + c * c) ** 2)
            r = 1e-6
            mu, nu = clip_factors(Cauchy(s), r, c)
            assert (mu - mu0) / (2 * r * dp_c) == pytest.approx(1.0, rel=1e-4)
            assert (nu - nu0) / (r * (2 * mu0 - 4 * c * p_c)) == pytest.approx(1.0, rel=1e-4)


def test_discrete_laws_are_exact_gaussian_sums() -> None:
    """SparseRademacher is the three-point law with a closed form (docs/theory/clipping.md
    section A.4)."""
    q, std, r, c = 0.2, 1.0, 0.3, 0.9
    lam, v = std / math.sqrt(q), math.sqrt(2 * r)
    m_, n_ = (c - lam) / v, (c + lam) / v

    def f(z):  # E[Z^2; |Z| <= z]
        return special.erf(z / math.sqrt(2)) - math.sqrt(2 / math.pi) * z * math.exp(-z * z / 2)

    mu = q / 2 * (special.erf(n_ / math.sqrt(2)) + special.erf(m_ / math.sqrt(2))) + (
        1 - q) * special.erf(c / (v * math.sqrt(2)))
    t2 = v * v * (q / 2 * f(n_) + q / 2 * f(m_) + (1 - q) * f(c / v)) + 2 * q * lam * v * (
        math.exp(-n_ * n_ / 2) - math.exp(-m_ * m_ / 2)) / math.sqrt(2 * math.pi) + (
        lam * lam * q / 2) * (special.erf(m_ / math.sqrt(2)) + special.erf(n_ / math.sqrt(2)))
    got = clip_factors(SparseRademacher(q, std), r, c)
    np.testing.assert_allclose(got, (mu, t2 + c * c * (1 - mu)), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# asymptotics


@pytest.mark.parametrize("name", FINITE_VAR)
def test_large_threshold_is_unclipped(name: str) -> None:
    law = law_of(name)
    rs = np.array([0.0, 0.05, 1.0])
    mu, nu = clip_factors(law, rs, 1e8)
    np.testing.assert_allclose(mu, 1.0, rtol=1e-6)
    np.testing.assert_allclose(nu, 2 * rs + law.second_moment, rtol=1e-6, atol=1e-300)
    mu, nu = clip_factors(law, rs, math.inf)
    np.testing.assert_array_equal(mu, 1.0)
    np.testing.assert_allclose(nu, 2 * rs + law.second_moment, rtol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_small_threshold(name: str) -> None:
    """c -> 0: mu ~ 2 c p_r(0), nu_bar ~ c^2."""
    law, c = law_of(name), 1e-5
    for r in (1e-2, 1.0, 50.0):
        mu, nu = clip_factors(law, r, c)
        assert mu == pytest.approx(2 * c * density_r0(law, r), rel=1e-4)
        assert nu == pytest.approx(c * c, rel=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_large_risk(name: str) -> None:
    """R -> inf at fixed c: mu ~ 2c / sqrt(2 pi 2R), nu_bar -> c^2."""
    law = law_of(name)
    for c in (0.3, 3.0):
        r = 1e10
        mu, nu = clip_factors(law, r, c)
        assert mu == pytest.approx(2 * c / math.sqrt(2 * math.pi * 2 * r), rel=1e-4)
        assert nu == pytest.approx(c * c, rel=1e-4)


def test_gaussian_comparison_criterion_at_most_one() -> None:
    """Gaussian noise: mu^2 / nu <= 1 for every c and R (Theorem 4 of arXiv 2406.11733), with the
    c -> 0 limit 2/pi."""
    rs = np.logspace(-6, 4, 41)
    for sigma in (0.0, 0.3, 1.0):
        law = Gaussian(sigma) if sigma > 0 else NoNoise()
        for c in np.logspace(-4, 2, 25):
            mu, nu = clip_factors_normalised(law, rs, c)
            assert np.all(mu * mu / nu <= 1.0 + 1e-12)
    mu, nu = clip_factors_normalised(Gaussian(1.0), 1.0, 1e-6)
    assert mu * mu / nu == pytest.approx(2 / math.pi, rel=1e-6)


def test_monotone_in_threshold() -> None:
    cs = np.logspace(-3, 2, 30)
    for name in NAMES:
        out = np.array([clip_factors(law_of(name), 0.4, c) for c in cs])
        assert np.all(np.diff(out, axis=0) >= -1e-14 * out[1:]), name  # rounding at saturation


# ---------------------------------------------------------------------------------------------
# sign drift, normalised factors, validation


def test_sign_drift_special_cases() -> None:
    rs = np.array([0.0, 1e-3, 1.0, 1e6])
    sigma = 0.7
    np.testing.assert_allclose(sign_drift(Gaussian(sigma), rs),
                               2 / math.pi / np.sqrt(2 * rs + sigma**2), rtol=1e-14)
    np.testing.assert_allclose(sign_drift(NoNoise(), rs[1:]), 2 / math.pi / np.sqrt(2 * rs[1:]),
                               rtol=1e-14)
    assert sign_drift(NoNoise(), 0.0) == math.inf
    assert sign_drift(SparseRademacher(0.2, 1.0), 0.0) == math.inf  # atom at 0
    assert sign_drift(Rademacher(0.8), 0.0) == 0.0
    for name in CONTINUOUS:
        law = law_of(name)
        assert sign_drift(law, 0.0) == pytest.approx(math.sqrt(8 / math.pi) * law.density_at_zero(),
                                                     rel=1e-14)
        # R -> inf: c(R) ~ (2/pi)/sqrt(2R) whatever the noise (slowest for Cauchy, ~ s/sqrt(R))
        np.testing.assert_allclose(sign_drift(law, 1e12), 2 / math.pi / math.sqrt(2e12), rtol=1e-5)


@pytest.mark.parametrize("name", CONTINUOUS)
def test_sign_drift_against_quadrature(name: str) -> None:
    """c(R) = (2/pi) E[exp(-eps^2/(4R))] / sqrt(2R) by direct quadrature of the density."""
    law = law_of(name)
    for r in (1e-6, 1e-2, 1.0, 1e3):
        w = math.sqrt(2 * r)
        pts = [-10 * w, 0.0, 10 * w, *KINKS.get(name, [])]
        mean = line_integral(lambda e, r=r: float(law.pdf(e)) * math.exp(-e * e / (4 * r)), pts)
        assert sign_drift(law, r) == pytest.approx(2 / math.pi * mean / w, rel=1e-9)


def test_normalised_factors() -> None:
    rs = np.array([0.0, 0.5, 3.0])
    law = Laplace(0.5)
    mu, nu = clip_factors_normalised(law, rs, 0.8)
    mu2, nu_bar = clip_factors(law, rs, 0.8)
    np.testing.assert_array_equal(mu, mu2)
    np.testing.assert_allclose(nu, nu_bar / (2 * rs + 0.5), rtol=1e-15)
    np.testing.assert_allclose(clip_factors_normalised(law, rs, math.inf)[1], 1.0, rtol=1e-15)
    assert clip_factors_normalised(NoNoise(), 0.0, 1.0)[1] == 1.0  # the R -> 0 limit
    for heavy in (Cauchy(1.0), StudentT(2.0)):
        with pytest.raises(ValueError, match="only the unnormalised nu_bar"):
            clip_factors_normalised(heavy, 1.0, 1.0)


def test_residual_scale() -> None:
    np.testing.assert_allclose(residual_scale(Gaussian(0.7), [0.0, 1.0]),
                               np.sqrt([0.49, 2.49]), rtol=1e-15)
    assert residual_scale(Cauchy(1.0), 1.0) == math.inf


def test_shapes_and_validation() -> None:
    rs = np.full((2, 3), 0.7)
    for law in (Gaussian(1.0), Cauchy(1.0), Rademacher(1.0)):
        mu, nu = clip_factors(law, rs, 1.0)
        assert mu.shape == nu.shape == (2, 3) and mu.dtype == np.float64
        assert sign_drift(law, rs).shape == (2, 3)
    assert clip_factors(Gaussian(1.0), [], 1.0)[0].shape == (0,)
    for bad_r in (-1e-3, math.nan, math.inf):
        with pytest.raises(ValueError, match="risk R"):
            clip_factors(Gaussian(1.0), [1.0, bad_r], 1.0)
        with pytest.raises(ValueError, match="risk R"):
            sign_drift(Gaussian(1.0), bad_r)
    for bad_c in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="threshold"):
            clip_factors(Gaussian(1.0), 1.0, bad_c)
    with pytest.raises(ValueError, match="method"):
        clip_factors(Gaussian(1.0), 1.0, 1.0, method="simpson")  # type: ignore[arg-type]
