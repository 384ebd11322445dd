"""One-layer conjugate-kernel law (optdyn.rmt) against closed forms and simulation.

Closed forms: Marchenko-Pastur (theta2 = 0) and product Wishart (linear f, Cardano on the
S-transform cubic), to 1e-6; the Pennington-Worah equation solved as an independent polynomial
in P, to 1e-10. Simulation: sampled M = (1/m) f(WX/sqrt n0) f(.)^T at n1 >= 1000 with Gaussian
and Rademacher entries, Kolmogorov distance <= 0.01 (atom at 0 included when n1 > m).
"""

import math

import numpy as np
import pytest
from scipy import integrate

from optdyn.errors import ConfigError
from optdyn.rmt import (
    ConjugateKernel,
    gaussian_constants,
    kolmogorov_distance,
    marchenko_pastur_density,
    marchenko_pastur_stieltjes,
    product_wishart_density,
    sample_eigenvalues,
)
from optdyn.rmt.continuation import poly_roots
from optdyn.rmt.quartic import pw_coefficients, pw_to_stieltjes


# ----------------------------------------------------------------------------- constants
@pytest.mark.parametrize("s", [0.5, 1.0, 1.7])
def test_constants_match_closed_forms(s):
    sin = gaussian_constants("sin", s)
    assert sin.theta1 == pytest.approx((1 - math.exp(-2 * s * s)) / 2, abs=1e-12)
    assert sin.theta2 == pytest.approx(s * s * math.exp(-s * s), abs=1e-12)
    erf = gaussian_constants("erf", s)
    assert erf.theta1 == pytest.approx(2 / math.pi * math.asin(2 * s * s / (1 + 2 * s * s)),
                                       abs=1e-12)
    assert erf.theta2 == pytest.approx(4 * s * s / (math.pi * (1 + 2 * s * s)), abs=1e-12)
    relu = gaussian_constants("relu", s)  # kinked: Gauss-Hermite would be off by ~1e-3
    assert relu.mean == pytest.approx(s / math.sqrt(2 * math.pi), abs=1e-12)
    assert relu.theta1 == pytest.approx(s * s * (0.5 - 1 / (2 * math.pi)), abs=1e-12)
    assert relu.theta2 == pytest.approx(s * s / 4, abs=1e-12)
    assert relu.c2 == pytest.approx(s / (2 * math.sqrt(math.pi)), abs=1e-12)
    ab = gaussian_constants(lambda x: np.abs(x), s)
    assert ab.theta2 == 0.0 and ab.theta1 == pytest.approx(s * s * (1 - 2 / math.pi), abs=1e-12)


def test_constants_of_a_user_callable_with_kinks():
    from optdyn.rmt.activation import activation

    act = activation(lambda x: np.clip(x, -0.5, 1.0), kinks=(-0.5, 1.0))
    c = gaussian_constants(act, 1.3)

    def expect(g):
        return integrate.quad(lambda t: g(t) * math.exp(-t * t / 2) / math.sqrt(2 * math.pi),
                              -30, 30, points=[-0.5 / 1.3, 1 / 1.3], limit=500,
                              epsabs=1e-14)[0]

    f = lambda t: min(max(1.3 * t, -0.5), 1.0)  # noqa: E731
    mean = expect(f)
    assert c.mean == pytest.approx(mean, abs=1e-10)
    assert c.theta1 == pytest.approx(expect(lambda t: f(t) ** 2) - mean**2, abs=1e-10)
    assert c.theta2 == pytest.approx(expect(lambda t: t * f(t)) ** 2, abs=1e-10)


# ----------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("shape", [(500, 1000, 2000), (1000, 1500, 1000), (300, 1000, 1000)])
@pytest.mark.parametrize("f", ["he2", "abs_centred"])
def test_vanishing_linear_coefficient_gives_marchenko_pastur(f, shape):
    ck = ConjugateKernel(f, *shape)
    assert ck.theta2 == 0.0
    v, c = ck.theta1, ck.gamma
    x = np.linspace(1e-3, 1.05 * v * (1 + math.sqrt(c)) ** 2, 400)
    assert np.abs(ck.density(x) - marchenko_pastur_density(x, v, c)).max() < 1e-6
    z = x + 0.05j
    assert np.abs(ck.stieltjes(z) - marchenko_pastur_stieltjes(z, v, c)).max() < 1e-6
    lo, hi = ck.support()
    assert hi == pytest.approx(v * (1 + math.sqrt(c)) ** 2, rel=1e-6)
    assert lo == pytest.approx(v * (1 - math.sqrt(c)) ** 2, abs=1e-6)
    assert ck.atom == pytest.approx(max(0.0, 1 - 1 / c), abs=1e-15)
    # the CDF integrates the density to the continuous mass 1 - atom
    assert ck.continuous_mass == pytest.approx(1 - ck.atom, abs=1e-6)


@pytest.mark.parametrize("shape", [(500, 1000, 2000), (1500, 1000, 2000), (2000, 1000, 700)])
@pytest.mark.parametrize("sigma", [1.0, 0.7])
def test_linear_activation_gives_product_wishart(shape, sigma):
    ck = ConjugateKernel("linear", *shape, sigma_w=sigma)
    assert ck.is_linear and ck.theta1 == pytest.approx(sigma**2)
    x = np.linspace(1e-3, ck.upper_bound, 400)
    ref = product_wishart_density(x, ck.theta1, ck.phi, ck.psi)
    assert np.abs(ck.density(x) - ref).max() < 1e-6
    n0, n1, m = shape
    assert ck.atom == pytest.approx(1 - min(n0, n1, m) / n1, abs=1e-15)
    assert ck.continuous_mass == pytest.approx(1 - ck.atom, abs=1e-6)


@pytest.mark.parametrize("f,shape", [("tanh", (1000, 2000, 3000)), ("sin", (2000, 1000, 1500)),
                                     ("relu", (1000, 1000, 2000)), ("erf", (300, 1000, 500))])
def test_pennington_worah_form_matches_quartic(f, shape):
    ck = ConjugateKernel(f, *shape)
    z = np.array([0.5 + 0.1j, 1 + 0.01j, 2 + 1j, 0.3 + 1e-6j, 5 + 1e-3j, 0.01 + 0.01j])
    s = ck.stieltjes(z)
    roots = poly_roots(pw_coefficients(z, ck.theta1, ck.theta2, ck.phi, ck.psi))
    cand = pw_to_stieltjes(roots, z[:, None], ck.psi)
    assert np.abs(cand - s[:, None]).min(axis=1).max() < 1e-10
    # S is a Stieltjes transform: Im S > 0, Im(zS) >= 0, S ~ -1/z far away
    assert np.all(s.imag > 0) and np.all((z * s).imag >= -1e-12)
    far = 1e4 + 1e4j
    assert ck.stieltjes(far)[0] * far == pytest.approx(-1, abs=1e-3)


def test_edges_are_roots_of_the_discriminant_and_bound_the_density():
    ck = ConjugateKernel("tanh", 2000, 1000, 1500)
    lo, hi = ck.support()
    assert abs(ck.discriminant(hi)[0]) < 1e-8 * np.abs(ck.discriminant(1.5 * hi)[0])
    eps = 1e-4 * hi
    rho = ck.density(np.array([hi - eps, hi + eps, lo - eps * 1e-2, lo + eps * 1e-2]))
    assert rho[0] > 1e-3 and rho[1] < 1e-8
    assert rho[2] < 1e-8 and rho[3] > 1e-3
    assert hi == pytest.approx(1.8361, abs=1e-4)  # docs/theory/rmt.md section 8


def test_quantiles_reproduce_the_law():
    ck = ConjugateKernel("tanh", 800, 1500, 1000)  # gamma = 1.5: atom 1/3
    q = ck.quantiles(3000)
    assert np.all(np.diff(q) >= 0)
    assert np.mean(q == 0.0) == pytest.approx(1 / 3, abs=1e-3)
    # E tr M / n1 = E f^2 = theta1 exactly (the trace of M has mean theta1 n1)
    assert q.mean() == pytest.approx(ck.theta1, rel=1e-3)
    assert ck.moment(1) == pytest.approx(ck.theta1, rel=1e-8)
    # F(F^{-1}(p)) = p on the continuous part
    p = (np.arange(3000) + 0.5) / 3000
    sel = p > ck.atom + 1e-3
    assert np.abs(ck.cdf(q[sel]) - p[sel]).max() < 1e-5
    assert q[-1] < ck.right_edge


def test_bad_input_raises_config_error():
    with pytest.raises(ConfigError, match="n1"):
        ConjugateKernel("tanh", 100, 0, 100)
    with pytest.raises(ConfigError, match="sigma_w"):
        ConjugateKernel("tanh", 100, 100, 100, sigma_w=-1.0)
    with pytest.raises(ConfigError, match="activation"):
        ConjugateKernel("nope", 100, 100, 100)
    with pytest.raises(ConfigError, match="activation"):
        ConjugateKernel(lambda x: np.ones_like(x), 100, 100, 100)
    with pytest.raises(ConfigError, match="n"):
        ConjugateKernel("tanh", 100, 100, 100).quantiles(0)
    with pytest.raises(ConfigError, match="kurtosis"):
        ConjugateKernel("tanh", 100, 100, 100).largest_eigenvalue(w_kurtosis=0.5)


# ----------------------------------------------------------------------------- simulation
SIM_CASES = [
    ("tanh", (1000, 1000, 2000)),
    ("relu_centred", (1000, 1000, 1500)),
    ("sin", (800, 1000, 1500)),
    ("tanh", (800, 1500, 1000)),  # n1 > m: atom 1/3 at 0
]


@pytest.mark.parametrize("entries", ["gaussian", "rademacher"])
@pytest.mark.parametrize("f,shape", SIM_CASES)
def test_simulated_spectrum_follows_the_law(f, shape, entries):
    ck = ConjugateKernel(f, *shape)
    ev = sample_eigenvalues(f, *shape, seed=3, w_entries=entries, x_entries=entries)
    ks = kolmogorov_distance(ev, ck)
    assert ks <= 0.01, ks
    # the check can fail: a wrong law (another aspect ratio) is far away
    other = ConjugateKernel(f, shape[0], shape[1], int(shape[2] * 1.5))
    assert kolmogorov_distance(ev, other) > 0.03
    if shape[1] > shape[2]:
        assert np.mean(ev <= 1e-9 * ev[-1]) == pytest.approx(ck.atom, abs=1e-12)


def test_non_centred_relu_has_the_same_bulk():
    # the mean adds one outlier; the bulk is the law with theta1 = Var f
    # (docs/theory/rmt.md section 7.4)
    ck = ConjugateKernel("relu", 1000, 1000, 2000)
    ev = sample_eigenvalues("relu", 1000, 1000, 2000, seed=5)
    assert kolmogorov_distance(ev, ck) <= 0.01
    assert ev[-2] == pytest.approx(ck.right_edge, rel=0.05)
