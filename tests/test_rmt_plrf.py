"""The deterministic-equivalent PLRF spectrum (optdyn.rmt.plrf) against sampled K_f = W^T Lambda W:
Kolmogorov distance of the spectrum, quantiles, and the capacity floor against its mean over
sketches (docs/theory/plrf.md)."""

from __future__ import annotations

import numpy as np
import pytest

from optdyn._core.errors import ConfigError
from optdyn.problems import PowerLawRandomFeatures
from optdyn.rmt import PLRFSpectrum, kolmogorov_distance


def _sampled(v, d, alpha, beta=0.5, seed=0):
    return np.linalg.eigvalsh(PowerLawRandomFeatures(v=v, d=d, alpha=alpha, beta=beta,
                                                     seed=seed).K)


@pytest.mark.parametrize("v, d, alpha", [(2000, 500, 1.0), (360, 300, 0.75), (3200, 200, 0.5)])
def test_spectrum_matches_sampled_kf(v, d, alpha):
    # v / d = 4, 1.2 and 16. A sample of d eigenvalues is itself off by a few 1/d, so at these
    # small d the bound is max(0.01, 3 / d) (0.015 at d = 200, where 0.012 was measured);
    # the 0.01 is checked at d = 2000 below
    ks = kolmogorov_distance(_sampled(v, d, alpha), PLRFSpectrum(v, d, alpha))
    assert ks <= max(0.01, 3.0 / d)


@pytest.mark.slow
@pytest.mark.parametrize("alpha, ratio", [(1.0, 4), (0.5, 4), (0.75, 1.2)])
def test_spectrum_matches_sampled_kf_at_d_2000(alpha, ratio):
    d = 2000
    v = int(ratio * d)
    ks = kolmogorov_distance(_sampled(v, d, alpha), PLRFSpectrum(v, d, alpha))
    assert ks <= 0.01  # measured 0.0017 (alpha 1, v = 4d), 0.0020 (alpha 0.5), 0.0017 (1.2)


def test_a_wrong_law_is_far_from_the_sampled_spectrum():
    # the check can fail: the spectrum of another alpha is far away
    ev = _sampled(2000, 500, 1.0)
    assert kolmogorov_distance(ev, PLRFSpectrum(2000, 500, 0.8)) > 0.05


def test_quantiles_are_the_sampled_eigenvalues():
    ev = np.sort(_sampled(2000, 500, 1.0))
    q = PLRFSpectrum(2000, 500, 1.0).quantiles(500)
    assert np.all(np.diff(q) > 0)
    err = np.abs(np.log(q / ev))
    assert np.median(err) < 0.01 and np.quantile(err, 0.9) < 0.05


def test_cdf_limits():
    s = PLRFSpectrum(800, 200, 1.0)
    lo, hi = s.bounds()
    assert s.cdf(lo) < 0.5 / 200 and s.cdf(hi) == pytest.approx(1.0, abs=1e-6)
    assert s.cdf(0.0) == 0.0 and s.cdf(-1.0) == 0.0
    f = s.cdf(np.geomspace(lo, hi, 50))
    assert np.all(np.diff(f) >= -1e-9)


def test_capacity_floor_is_the_mean_over_sketches():
    v, d, alpha, beta = 800, 200, 1.0, 0.5
    f0 = [PowerLawRandomFeatures(v=v, d=d, alpha=alpha, beta=beta, seed=s).F0
          for s in range(12)]
    mean, se = np.mean(f0), np.std(f0) / np.sqrt(len(f0))
    de = PLRFSpectrum(v, d, alpha, beta).capacity_floor
    assert abs(de - mean) < 3 * se  # measured: 1.335e-4 against 1.290e-4 +- 0.058e-4
    # kappa_0 solves (1/d) sum_j lambda_j / (lambda_j + kappa_0) = 1
    s = PLRFSpectrum(v, d, alpha, beta)
    k0 = s.kappa0
    assert np.sum(s.lam / (s.lam + k0)) / d == pytest.approx(1.0, rel=1e-12)


def test_bad_input_names_the_field():
    with pytest.raises(ConfigError, match="^v:"):
        PLRFSpectrum(100, 200, 1.0)
    with pytest.raises(ConfigError, match="^alpha:"):
        PLRFSpectrum(400, 200, -1.0)
    with pytest.raises(ConfigError, match="^beta:"):
        PLRFSpectrum(400, 200, 0.2, beta=0.1)
    with pytest.raises(ConfigError, match="^beta:"):
        _ = PLRFSpectrum(400, 200, 1.0).capacity_floor
    with pytest.raises(ConfigError, match="^z:"):
        PLRFSpectrum(400, 200, 1.0).kappa(1.0)


def test_target_weights_are_the_mean_over_sketches():
    v, d, alpha, beta = 2000, 500, 1.0, 0.5
    s = PLRFSpectrum(v, d, alpha, beta)
    xs = np.geomspace(1e-6, 4.0, 12)
    de = s.energy_cdf(xs)
    cum = []
    for seed in range(8):
        p = PowerLawRandomFeatures(v=v, d=d, alpha=alpha, beta=beta, seed=seed)
        mu, u = np.linalg.eigh(p.K)
        e = (u.T @ p.theta_opt) ** 2
        cum.append([e[mu < x].sum() for x in xs])
    cum = np.array(cum)
    mean, se = cum.mean(0), cum.std(0) / np.sqrt(len(cum))
    assert np.all(np.abs(de - mean) <= 3 * se + 1e-12)  # measured: within 1 se at every x
    assert de[-1] == pytest.approx(s.total_energy, rel=1e-9)


def test_measure_carries_the_initial_risk():
    # R0 = (1/2) theta_opt^T K_f theta_opt = (1/2)(||c||^2 - sigma_xi^2): exact identity
    v, d, alpha, beta = 2000, 500, 1.0, 0.5
    s = PLRFSpectrum(v, d, alpha, beta)
    mu, e = s.measure(d)
    assert mu.shape == e.shape == (d,) and np.all(e >= 0)
    assert e.sum() == pytest.approx(s.total_energy, rel=1e-12)
    j = np.arange(1, v + 1, dtype=float)
    r0 = 0.5 * (np.sum(j ** (-2 * alpha - 2 * beta)) - 2 * s.capacity_floor)
    assert 0.5 * np.sum(mu * e) == pytest.approx(r0, rel=5e-3)  # measured 1.4e-3


@pytest.mark.slow
def test_sgd_curve_from_the_measure_is_the_mean_over_sketches():
    import warnings

    from optdyn import noise, theory
    from optdyn.optimizers import SGD
    from optdyn.problems import LinearRegression

    v, d, alpha, beta = 2000, 500, 1.0, 0.5
    s = PLRFSpectrum(v, d, alpha, beta)
    mu, e = s.measure(d)
    eq = LinearRegression(eigenvalues=mu, theta_star=np.sqrt(e),
                          noise=noise.Gaussian(np.sqrt(2 * s.capacity_floor)))
    opt = SGD(0.2)
    kw = dict(steps=100_000, points_per_decade=4)
    got = theory.run(eq, opt, **kw).risk.values.ravel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cur = np.array([theory.run(PowerLawRandomFeatures(v=v, d=d, alpha=alpha, beta=beta,
                                                          seed=k).reduce("gaussian"),
                                   opt, **kw).risk.values.ravel() for k in range(12)])
    mean, se = cur.mean(0), cur.std(0) / np.sqrt(len(cur))
    # measured: at most 7.1% (2.3 standard errors of the 12-sketch mean) at t = 0.6-1.3, where
    # the isolated top eigenvalues, which move from sketch to sketch, carry the risk
    assert np.all(np.abs(got / mean - 1) <= 3 * se / mean + 0.01)


def test_fixed_point_below_a_tiny_spectrum():
    # alpha = 1.5, d = 25600: the lower spectrum sits near d^(-3) ~ 6e-14, so kappa is ~1e-13;
    # the continuation works in units of d^(-2 alpha) and must still converge 1000x below it
    sp = PLRFSpectrum(4 * 25600, 25600, 1.5)
    x = np.array([6e-17, 1e-14, 1e-12])
    k = sp.kappa(x * (1 + 1e-10j))
    assert np.all(np.isfinite(k))
    # below the spectrum kappa(x) tends to kappa(0), the root of S(kappa) = 1
    assert abs(k[0].real / sp.kappa0 - 1) < 1e-2
    f = sp.cdf(x)
    assert f[0] < 1e-4 and np.all(np.diff(f) >= 0)
