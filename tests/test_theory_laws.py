"""signSGD and clipped-SGD laws: closed-form special cases, fixed points, tables, bad input."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from optdyn import noise, theory
from optdyn.errors import ConfigError
from optdyn.optimizers import ClippedSGD, SignSGD
from optdyn.problems import LinearRegression, RandomVector, spectra
from optdyn.schedules import LinearDecay
from optdyn.theory.factors import clip_factors, sign_drift
from optdyn.theory.laws.sign import sign_modes
from optdyn.theory.tables import log_table, table_eval


def test_sign_isotropic_against_closed_form_scalar_ode():
    # K = I, Gaussian noise: dR/dk = -2 lr c(R) R + lr^2 d / 2, c(R) = (2/pi) / sqrt(2R + s^2)
    d, s, lr = 50, 0.5, 0.02
    p = LinearRegression(eigenvalues=spectra.isotropic(d), theta_star=RandomVector(3.0),
                         noise=noise.Gaussian(s))
    th = theory.run(p, SignSGD(lr), 20_000, rtol=1e-9)
    c = lambda r: (2 / np.pi) / np.sqrt(2 * r + s * s)  # noqa: E731
    sol = solve_ivp(lambda k, r: -2 * lr * c(r) * r + lr * lr * d / 2, (0, 20_000),
                    [p.initial_risk], t_eval=th.step.values.astype(float), rtol=1e-12,
                    atol=1e-15, method="DOP853")
    rel = np.abs(th.risk.values / sol.y[0] - 1)
    assert rel.max() < 1e-6, rel.max()
    # and the fixed point R c(R) = lr d / 4 in closed form: R = a^2 + sqrt(a^4 + a^2 s^2)
    a = np.pi * lr * d / 8
    assert float(th.limit_risk) == pytest.approx(a * a + math.sqrt(a**4 + a * a * s * s), 1e-9)
    assert float(th.risk[-1]) == pytest.approx(float(th.limit_risk), rel=1e-4)


def test_sign_diagonal_fast_path_equals_dense_path():
    d = 60
    lam = spectra.power_law(d, 0.7)
    fast = LinearRegression(eigenvalues=lam, theta_star=RandomVector(2.0), noise=noise.Laplace(1))
    dense = LinearRegression(eigenvalues=lam, basis=np.eye(d), theta_star=fast.theta_star,
                             noise=noise.Laplace(1))
    a, b = sign_modes(fast), sign_modes(dense)
    order = np.argsort(b.weights)[::-1]
    np.testing.assert_allclose(b.weights[order], np.sort(a.weights)[::-1], rtol=1e-12)
    np.testing.assert_allclose(b.loads[order], a.loads[np.argsort(a.weights)[::-1]], rtol=1e-7)
    ra = theory.run(fast, SignSGD(0.01), 5000).risk.values
    rb = theory.run(dense, SignSGD(0.01), 5000).risk.values
    np.testing.assert_allclose(ra, rb, rtol=1e-9)


def test_sign_noise_loads_sum_and_spectrum():
    k = spectra.toeplitz_covariance(80, 0.6, diag_range=(0.2, 5.0), seed=4)
    p = LinearRegression(covariance=k, theta_star=RandomVector(1.0))
    m = sign_modes(p)
    # sum_j q_j = tr(D^1/2 K_sigma) = sum_i sqrt(K_ii); spectrum of M = D^-1/4 K D^-1/4
    assert m.loads.sum() == pytest.approx(np.sqrt(np.diag(k)).sum(), rel=1e-12)
    d4 = np.diag(k) ** -0.25
    np.testing.assert_allclose(np.sort(m.weights), np.linalg.eigvalsh(d4[:, None] * k * d4),
                               rtol=1e-10, atol=1e-12)
    assert np.sum(m.weights * m.v0) == pytest.approx(p.initial_risk, rel=1e-12)


@pytest.mark.parametrize("law", [noise.StudentT(3, 0.5), noise.Cauchy(0.3), noise.Gaussian(0)])
def test_sign_limit_risk_is_the_fixed_point_reached(law):
    p = LinearRegression(eigenvalues=spectra.power_law(100, 0.5), theta_star=RandomVector(3.0),
                         noise=law)
    lr = 0.01
    lim = theory.limit_risk(p, SignSGD(lr))
    target = lr / 4 * np.sqrt(p.eigenvalues).sum()
    assert lim * sign_drift(law, np.asarray([lim]))[0] == pytest.approx(target, rel=1e-9)
    th = theory.run(p, SignSGD(lr), 10**7, points_per_decade=3)
    assert float(th.risk[-1]) == pytest.approx(lim, rel=1e-4)


@pytest.mark.parametrize("law", [noise.Gaussian(0.5), noise.Cauchy(0.5)])
def test_clipped_limit_risk_is_the_fixed_point_reached(law):
    p = LinearRegression(eigenvalues=spectra.power_law(200, 0.1), basis="haar",
                         theta_star=RandomVector(3.0), noise=law)
    opt = ClippedSGD(0.5 / p.trace, 0.3 * np.sqrt(p.trace))
    lim = theory.limit_risk(p, opt)
    c = 0.3
    mu, nubar = clip_factors(law, np.asarray([lim]), c)
    assert lim == pytest.approx(0.5 * nubar[0] / (4 * mu[0]), rel=1e-9)
    th = theory.run(p, opt, 10**7, points_per_decade=3)
    assert float(th.risk[-1]) == pytest.approx(lim, rel=1e-4)
    assert math.isinf(float(th.critical_lr))


def test_threshold_sweep_batched_equals_single_runs():
    p = LinearRegression(eigenvalues=spectra.power_law(100, 0.2), theta_star=RandomVector(3.0),
                         noise=noise.StudentT(3, 0.5))
    tr = p.trace
    opts = [ClippedSGD(1 / tr, c * np.sqrt(tr)) for c in (0.2, 0.5, 2.0)]
    both = theory.run(p, opts, 3000)
    for i, o in enumerate(opts):
        np.testing.assert_allclose(both.risk.values[i], theory.run(p, o, 3000).risk.values,
                                   rtol=1e-12)
    # a larger threshold descends faster early on (mu closer to 1)
    assert both.risk.values[2, 10] < both.risk.values[0, 10]


@pytest.mark.parametrize("law", [noise.Gaussian(0.7), noise.StudentT(3, 0.5),
                                 noise.GaussianMixture((0.3, 0.7), (-1.0, 0.4), (0.2, 0.5))])
def test_tables_reproduce_the_law(law):
    tab = log_table(lambda r: sign_drift(law, r), 0.5)
    r = np.exp(np.random.default_rng(0).uniform(np.log(1e-9), np.log(1e9), 300))
    got = np.asarray(table_eval(tab, jnp.asarray(r)))
    np.testing.assert_allclose(got, sign_drift(law, r), rtol=2e-7)
    # beyond the table: power-law extrapolation, c(R) ~ (2/pi)/sqrt(2R) as R -> inf
    big = np.asarray([1e18])
    assert float(table_eval(tab, jnp.asarray(big))[0]) == pytest.approx(
        2 / np.pi / np.sqrt(2e18), rel=1e-6)


def test_bad_input():
    p = LinearRegression(eigenvalues=spectra.isotropic(20), noise=noise.Gaussian(0.5))
    with pytest.raises(ConfigError, match="batch_size"):
        theory.run(p, SignSGD(0.1, batch_size=4), 100)
    with pytest.raises(ConfigError, match="constant threshold"):
        theory.run(p, ClippedSGD(0.1, LinearDecay(peak=1.0, total_steps=10, final=0.1)), 100)
    with pytest.raises(ConfigError, match="per_sample"):
        theory.run(p, ClippedSGD(0.1, 1.0, batch_size=4, mode="per_batch"), 100)
    with pytest.raises(ConfigError, match="method"):
        theory.run(p, SignSGD(0.1), 100, method="exact")
