"""The four effects of signSGD, risk-driven schedules and heavy tails (arXiv 2411.12135)."""

import math

import numpy as np
import pytest
from scipy.special import gamma as G

import optdyn  # noqa: F401  (float64)
from optdyn import noise as N
from optdyn import simulate, theory
from optdyn.analysis import signsgd as S
from optdyn.errors import ConfigError
from optdyn.optimizers import SGD, SignSGD
from optdyn.problems import LinearRegression, RandomVector, spectra


def test_compression_closed_forms():
    R = np.logspace(-4, 2, 13)
    np.testing.assert_allclose(S.compression(N.Gaussian(0.7), R), 4 / np.pi**2, rtol=1e-8)
    np.testing.assert_allclose(S.effective_noise_variance(N.Gaussian(0.7), R), 0.49, rtol=1e-7)
    # Student-t(nu), R -> 0: kappa = (8/pi) p_nu(0)^2 nu/(nu-2) (scale-free); nu = 3: ~1.03
    for nu in (3.0, 5.0):
        p0 = G((nu + 1) / 2) / (math.sqrt(nu * math.pi) * G(nu / 2))
        k0 = 8 / math.pi * p0**2 * nu / (nu - 2)
        assert float(S.compression(N.StudentT(nu, 0.5), 1e-9)) == pytest.approx(k0, rel=1e-4)
    assert float(S.compression(N.StudentT(3.0, 1.0), 1e-9)) == pytest.approx(1.03, abs=0.01)
    assert np.all(np.isinf(S.compression(N.StudentT(1.0, 1.0), R)))
    # Monte Carlo of c(R) = (2/pi) E exp(-eps^2/(4R)) / sqrt(2R) for Laplace noise
    rng = np.random.default_rng(0)
    eps = rng.laplace(0, 0.6, 2_000_000)
    for r in (0.05, 0.5):
        mc = 2 / np.pi * np.mean(np.exp(-eps**2 / (4 * r))) / math.sqrt(2 * r)
        assert float(S.drift_factor(N.Laplace(0.6), r)) == pytest.approx(mc, rel=3e-3)


def test_spectra_diagonal_maps_to_square_roots_and_toeplitz_condition():
    lam = spectra.power_law(50, 0.8)
    p = LinearRegression(eigenvalues=lam, theta_star=RandomVector(1.0))
    sp = S.spectra(p)
    np.testing.assert_allclose(sp.lambda_M.values, np.sort(np.sqrt(lam))[::-1], rtol=1e-12)
    np.testing.assert_allclose(sp.q.values, sp.lambda_M.values, rtol=1e-12)
    assert sp.attrs["cond_M"] == pytest.approx(math.sqrt(sp.attrs["cond_K"]), rel=1e-10)
    # correlated K with a non-constant diagonal: M is better conditioned than K
    k = spectra.toeplitz_covariance(200, 0.5, seed=1)
    sp = S.spectra(LinearRegression(covariance=k, theta_star=RandomVector(1.0)))
    assert sp.attrs["cond_M"] < 0.5 * sp.attrs["cond_K"]
    assert sp.attrs["sum_q"] == pytest.approx(np.sqrt(np.diag(k)).sum(), rel=1e-10)


def test_effects_along_the_curve():
    d = 200
    p = LinearRegression(eigenvalues=spectra.power_law(d, 0.5), theta_star=RandomVector(2.0),
                         noise=N.Gaussian(0.5))
    e = S.effects(p, SignSGD(0.3 / d), 2000)
    r = e.risk.values
    np.testing.assert_allclose(e.lr_eff.values, 0.3 / d * 2 / np.pi / np.sqrt(2 * r + 0.25),
                               rtol=1e-7)
    assert e.lr_eff.values[-1] > e.lr_eff.values[0]  # rises as the risk falls
    np.testing.assert_allclose(e.kappa.values, 4 / np.pi**2, rtol=1e-7)
    with pytest.raises(ConfigError, match="optimizer"):
        S.effects(p, SGD(0.1), 100)


@pytest.fixture(scope="module")
def diag_problem():
    d = 600
    rng = np.random.default_rng(3)
    lam = np.exp(rng.uniform(np.log(0.25), np.log(4.0), d))
    return LinearRegression(eigenvalues=lam, theta_star=RandomVector(2.0),
                            noise=N.StudentT(3.0, 0.5))


@pytest.mark.slow
def test_constant_effective_rate_schedule_and_replay(diag_problem):
    p, d = diag_problem, diag_problem.d
    lr, steps = 0.3 / d, 8 * d
    ce = S.constant_effective_rate(p, lr, steps)
    c = S.drift_factor(p.noise, ce.risk.values)
    np.testing.assert_allclose(ce.lr.values * c, ce.attrs["eta_eff"], rtol=1e-10)
    assert ce.lr.values[0] == pytest.approx(lr, rel=1e-9)
    sg = S.sgd_at_effective_rate(p, lr, steps)
    th_sgd = theory.run(p, sg, steps)
    sim = simulate.run(p, [S.replay(ce), sg], steps, seeds=4)
    m = sim.risk.mean("seed").values
    for i, th in enumerate((ce.risk.values, th_sgd.risk.values)):
        rel = np.abs(m[i] / th - 1)[1:]
        assert rel.mean() < 0.05, (i, rel.mean())


def test_constant_effective_rate_removes_the_noiseless_floor():
    # noiseless signSGD at a constant rate stalls at R c(R) = lr d / 4 > 0; keeping lr c(R)
    # constant makes the diffusion proportional to R and the risk decays geometrically
    d, lr = 100, 0.002
    p = LinearRegression(eigenvalues=np.ones(d), theta_star=RandomVector(1.0), noise=N.NoNoise())
    floor = theory.limit_risk(p, SignSGD(lr))
    assert floor == pytest.approx(np.pi**2 * (lr * d) ** 2 / 32, rel=1e-6)
    const = theory.run(p, SignSGD(lr), 200_000)
    ce = S.constant_effective_rate(p, lr, 200_000)
    assert float(const.risk[-1]) == pytest.approx(floor, rel=1e-3)
    assert float(ce.risk[-1]) < 1e-3 * floor
    r = ce.risk.values[-20:]
    assert np.all(np.diff(np.log(r)) < 0)


def test_gaussian_schedule_is_sqrt_of_loss():
    p = LinearRegression(eigenvalues=np.ones(100), theta_star=RandomVector(1.0),
                         noise=N.Gaussian(0.4))
    ce = S.constant_effective_rate(p, 0.01, 3000)
    r = ce.risk.values
    np.testing.assert_allclose(ce.lr.values,
                               0.01 * np.sqrt((2 * r + 0.16) / (2 * r[0] + 0.16)), rtol=1e-8)


def test_heavy_tails_ordering_flips_with_kappa():
    d = 400
    out = {}
    for name, law in (("gauss", N.Gaussian(1.0)), ("t2.5", N.StudentT(2.5, 0.5)),
                      ("cauchy", N.StudentT(1.0, 0.5))):
        p = LinearRegression(eigenvalues=np.ones(d), theta_star=RandomVector(1.0), noise=law)
        out[name] = S.matched_limits(p, 0.05 / d)
    g, t, c = out["gauss"], out["t2.5"], out["cauchy"]
    assert g["sgd"] < g["sign"] and g["kappa"] < 1  # Gaussian: SGD wins at matched rate
    assert t["sgd"] > t["sign"] and t["kappa"] > 1  # heavy tails: signSGD wins
    for o in (g, t):
        assert o["sgd"] / o["sign"] == pytest.approx(o["kappa"], rel=0.05)
    assert math.isfinite(c["sign"]) and math.isinf(c["sgd"]) and math.isinf(c["kappa"])


def test_bad_input():
    p = LinearRegression(eigenvalues=np.ones(5), theta_star=RandomVector(1.0))
    with pytest.raises(ConfigError, match="lr"):
        S.constant_effective_rate(p, -1.0, 10)
    with pytest.raises(ConfigError, match="steps"):
        S.constant_effective_rate(p, 0.1, 0)
    with pytest.raises(ConfigError, match="problem"):
        S.spectra(object())
