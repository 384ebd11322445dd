"""Matrix least squares dynamics (docs/theory/muon.md section 2 and acceptance
A1-A4 of section 4; arXiv 2605.09552).

Every theory is checked against an independent computation: Monte Carlo moments of the
optimizer's own update (:func:`optdyn.simulate.moments.update_moments`), direct Monte Carlo of
E[(X^T X)^(1/2)], closed forms, and the simulation engine.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from optdyn import simulate, theory
from optdyn.errors import ConfigError
from optdyn.optimizers import SGD, Muon, SignSGD, SignSVD
from optdyn.problems import MatrixRegression
from optdyn.problems.matrix_regression import PowerLawTarget
from optdyn.problems.spectra import power_law
from optdyn.simulate.moments import update_moments
from optdyn.theory.matrix_profiles import (
    a_B,
    degrees_of_freedom,
    f_B,
    k_sigma,
    kappa0,
    power_law_kappa0,
    projector_loads,
    signsgd_profile,
)


def _flat(d: int, m: int, alpha: float, sigma: float) -> MatrixRegression:
    """rho_j = 1 for every mode, with orthonormal output directions (Q^T Delta Delta^T Q = I)."""
    return MatrixRegression(d, m, eigenvalues=power_law(d, alpha),
                            target=PowerLawTarget(0.0, directions="orthogonal"), sigma=sigma)


def _slope(lam: np.ndarray, rate: np.ndarray) -> float:
    return float(np.polyfit(np.log(lam), np.log(rate), 1)[0])


# ----------------------------------------------------------------------------- the profiles
def test_a_b_closed_forms():
    assert a_B(1) == pytest.approx(2 / math.pi, rel=1e-12)
    assert a_B(2) == pytest.approx(1.0, rel=1e-12)
    assert a_B(10_000) == pytest.approx(math.sqrt(2 * 10_000 / math.pi), rel=1e-4)
    # a_B = sqrt(2/pi) E[chi_B], by Monte Carlo
    chi = np.linalg.norm(np.random.default_rng(0).standard_normal((200_000, 5)), axis=1)
    assert a_B(5) == pytest.approx(math.sqrt(2 / math.pi) * chi.mean(), rel=5e-3)
    with pytest.raises(ConfigError):
        a_B(0)


def test_kappa0_solves_the_batch_equation_and_its_power_law_limit():
    lam = power_law(200_000, 1.0)  # d large: the truncated tail adds ~ 1 / (kappa_0 d) to df
    for b in (4, 16, 64):
        k0 = kappa0(lam, b)
        assert degrees_of_freedom(lam, k0) == pytest.approx(b, rel=1e-9)
        assert projector_loads(lam, b).sum() == pytest.approx(b, rel=1e-9)
        assert k0 == pytest.approx(power_law_kappa0(1.0, b), rel=0.01)
        # the leading order (C / B)^(2 alpha) is off by O(1/B) (docs/theory/muon.md section 2.4)
        assert k0 < (math.pi / 2 / b) ** 2
    assert kappa0(lam[:8], 8) == 0.0 and kappa0(lam[:8], 7) > 0
    assert np.all(projector_loads(lam[:8], 10) == 1.0)


def test_f_b_against_monte_carlo_square_root():
    """E[(X^T X)^(1/2)] for X (B x d) with rows N(0, diag(lambda)), by direct Monte Carlo."""
    d = 100
    lam = power_law(d, 0.75)
    rng = np.random.default_rng(1)
    for b in (4, 32, 150):
        acc = np.zeros(d)
        n = 800
        for _ in range(n):
            x = rng.standard_normal((b, d)) * np.sqrt(lam)
            u, s, vt = np.linalg.svd(x, full_matrices=False)
            acc += np.einsum("ij,i,ij->j", vt, s, vt)  # diag of V S V^T = (X^T X)^(1/2)
        mc = acc / n
        f = f_B(lam, b)
        # blocks of 5 modes average out the per-mode Monte Carlo noise
        np.testing.assert_allclose(f.reshape(20, 5).mean(1), mc.reshape(20, 5).mean(1),
                                   rtol=0.05)
    # large-batch limit: sqrt(B lambda) on the top modes
    np.testing.assert_allclose(f_B(lam, 150)[:10], np.sqrt(150 * lam[:10]), rtol=0.05)


def test_k_sigma_and_signsgd_profile_sums():
    p = MatrixRegression.power_law(40, 60, 1.0, 0.5)
    ks = k_sigma(p.K)
    np.testing.assert_allclose(np.diag(ks), 1.0, atol=1e-12)
    g, n = signsgd_profile(p, 4)
    assert n.sum() == pytest.approx(p.d * p.m, rel=1e-9)  # ||sign(G)||_F^2 = d m exactly
    # generic basis: no preconditioning, the drift is proportional to lambda
    assert _slope(p.eigenvalues, g) == pytest.approx(1.0, abs=0.05)
    pa = MatrixRegression.power_law(40, 60, 1.0, 0.5, basis="identity")
    ga, na = signsgd_profile(pa, 4)
    np.testing.assert_allclose(ga, a_B(4) * np.sqrt(60 * pa.eigenvalues), rtol=1e-9)
    np.testing.assert_allclose(na, 60.0, rtol=1e-9)


# ------------------------------------------------- A2-A4: per-mode decay rates from updates
def test_signsvd_profile_matches_update_moments():
    """Drift f_B and loads lambda/(lambda + kappa_0) against the SignSVD update's own moments in
    the noise-dominated regime (label noise m sigma^2 >> signal)."""
    p = _flat(96, 192, 1.0, 0.3)
    lam = p.eigenvalues
    ds = update_moments(p, SignSVD(1.0, batch_size=16, method="qr"), n_batches=800)
    np.testing.assert_allclose(ds.noise_load.values, projector_loads(lam, 16), atol=0.02)
    assert ds.noise_load.sum() == pytest.approx(16.0, rel=1e-6)  # rank 16 exactly
    rel = ds.decay_rate.values / f_B(lam, 16) - 1
    assert np.median(np.abs(rel[1:40])) < 0.06


def test_a2_a3_signsvd_slopes_and_crossover():
    """Slope ~ 1/2 above kappa_0(B) (square-root preconditioning), ~ 1 below (SGD-like); the
    crossover moves with kappa_0(B)."""
    p = _flat(128, 256, 1.0, 0.3)
    lam = p.eigenvalues
    for b, region, n in ((64, "above", 400), (4, "below", 1500)):
        ds = update_moments(p, SignSVD(1.0, batch_size=b, method="qr"), n_batches=n)
        k0 = kappa0(lam, b)
        # below: a band whose drift Monte Carlo resolves (the smallest modes' drift ~ lambda)
        sel = lam > 10 * k0 if region == "above" else (lam < k0 / 10) & (lam > k0 / 300)
        # the top mode carries enough signal to saturate (docs/theory/muon.md section 2.6)
        sel[0] = False
        assert sel.sum() >= 10
        expected = 0.5 if region == "above" else 1.0
        assert _slope(lam[sel], ds.decay_rate.values[sel]) == pytest.approx(expected, abs=0.1)
    # the local slope of the theory profile crosses 3/4 near kappa_0, for every B
    for b in (4, 16, 64):
        f = f_B(lam, b)
        local = np.gradient(np.log(f), np.log(lam))
        lam_x = lam[np.argmin(np.abs(local - 0.75))]
        assert 0.1 < lam_x / kappa0(lam, b) < 10


def test_a4_signsgd_no_preconditioning_no_transition():
    """Haar basis: SignSGD's decay rate is ~ lambda for every B; B only rescales through a_B."""
    p = _flat(128, 256, 1.0, 1.0)
    lam = p.eigenvalues
    top = slice(0, 16)
    rates = {}
    for b in (1, 16):
        ds = update_moments(p, SignSGD(1.0, batch_size=b), n_batches=3000, chunk=100)
        rates[b] = ds.decay_rate.values
        assert _slope(lam[top], rates[b][top]) == pytest.approx(1.0, abs=0.12)
    ratio = rates[16][:4] / rates[1][:4]
    np.testing.assert_allclose(ratio, a_B(16) / a_B(1), rtol=0.2)


# --------------------------------------------------------- A1: dynamics against simulation
def _mre(sim, th, start=1) -> float:
    s = sim.risk.mean("seed").values[start:]
    t = th.risk.values[start:]
    return float(np.mean(np.abs(t - s) / s))


@pytest.fixture(scope="module")
def noisy():
    return MatrixRegression.power_law(64, 128, 0.75, 0.25, sigma=0.2)


def test_a1_sgd_exact_recursion(noisy):
    opt = SGD(0.02, batch_size=4)
    sim = simulate.run(noisy, opt, 2000, seeds=6)
    th = theory.run(noisy, opt, 2000, "exact")
    assert _mre(sim, th) < 0.02
    assert "exact" in th.attrs["regime"]


def test_a1_signsgd_mean_field_and_linear_response(noisy):
    for opt in (SignSGD(8e-4), SignSGD(8e-4, batch_size=8)):
        sim = simulate.run(noisy, opt, 2000, seeds=4)
        mf = theory.run(noisy, opt, 2000, "mean-field")
        assert _mre(sim, mf) < 0.10
        ode = theory.run(noisy, opt, 2000, "ode")
        assert _mre(sim, ode) < 0.10  # noise-dominated: the linear response holds too
        assert "linear response" in ode.attrs["regime"]


def test_sign_of_batch_mean_closed_form_and_monte_carlo():
    """h_B(c) = 2 I_{(1+c)/2}(B/2, B/2) - 1 against SciPy's incomplete beta, Monte Carlo of the
    sign of a sum of B Gaussian products, and its derivative against finite differences."""
    import jax.numpy as jnp
    from scipy import special

    from optdyn.theory.mean_field import sign_of_batch_mean

    c = np.linspace(-0.999, 0.999, 801)
    rng = np.random.default_rng(3)
    for b in (1, 2, 3, 8, 17):
        h, dh = (np.asarray(v) for v in sign_of_batch_mean(jnp.asarray(c), b))
        np.testing.assert_allclose(h, 2 * special.betainc(b / 2, b / 2, (1 + c) / 2) - 1,
                                   atol=1e-12)
        inner = np.abs(c) < 0.95  # finite differences fail at B = 1's edge singularity
        np.testing.assert_allclose(dh[inner], np.gradient(h, c)[inner], rtol=1e-3, atol=1e-5)
        for cc in (0.2, 0.6):
            x = rng.standard_normal((100_000, b))
            y = cc * x + math.sqrt(1 - cc * cc) * rng.standard_normal((100_000, b))
            mc = np.mean(np.sign((x * y).sum(axis=1)))
            hb = float(sign_of_batch_mean(jnp.asarray(cc), b)[0])
            assert abs(hb - mc) < 0.01
    np.testing.assert_allclose(np.asarray(sign_of_batch_mean(jnp.asarray(c), 1)[0]),
                               2 / np.pi * np.arcsin(c), atol=1e-12)


@pytest.mark.parametrize("basis", ["identity", "haar"])
def test_a1_signsgd_mean_field_signal_dominated(basis):
    """sigma = 0, B in {1, 8}: the exact-sign-law mean-field tracks the simulation within the
    issue's bounds (mean 5%, max 15% over the checkpoints, 64 seeds); the erf form and the linear
    response do not at B = 8 (measured failures)."""
    p = MatrixRegression.power_law(64, 128, 0.75, 0.5, basis=basis)
    for opt in (SignSGD(5e-4), SignSGD(5e-4, batch_size=8)):
        sim = simulate.run(p, opt, 1500, seeds=64)
        mf = theory.run(p, opt, 1500, "mean-field")
        assert "exact sign law" in mf.attrs["regime"]
        s, t = sim.risk.mean("seed").values[1:], mf.risk.values[1:]
        rel = np.abs(t - s) / s
        assert rel.mean() < 0.05 and rel.max() < 0.15, (basis, opt.batch_size, rel.mean(),
                                                       rel.max())
        if opt.batch_size == 8:
            erf = theory.run(p, opt, 1500, "mean-field", drift="erf")
            assert _mre(sim, erf) > 2 * rel.mean()
            if basis == "haar":
                assert _mre(sim, theory.run(p, opt, 1500, "ode")) > 0.3


def test_a1_signsvd_template_noise_dominated(noisy):
    opt = SignSVD(0.02, batch_size=16, method="qr")
    sim = simulate.run(noisy, opt, 2000, seeds=4)
    ode = theory.run(noisy, opt, 2000, "ode")
    late = sim.step.values >= 100
    s, t = sim.risk.mean("seed").values[late], ode.risk.values[late]
    assert np.mean(np.abs(t - s) / s) < 0.05
    assert ode.limit_risk.item() == pytest.approx(ode.risk.values[-1], rel=0.05)


def test_a1_signsvd_signal_dominated_failure_and_mean_field_mc():
    """sigma = 0, B = 32: the template's transient is far too fast (measured); the Monte Carlo
    mean-field recursion follows the simulation."""
    p = MatrixRegression.power_law(48, 96, 0.75, 0.5)
    opt = SignSVD(0.01, batch_size=24, method="qr")
    sim = simulate.run(p, opt, 600, seeds=3)
    ode = theory.run(p, opt, 600, "ode")
    mf = theory.run(p, opt, 600, "mean-field", n_mc=4)
    i = int(np.searchsorted(sim.step.values, 50))
    s50 = sim.risk.mean("seed").values[i]
    assert ode.risk.values[i] < 0.2 * s50  # the linear response over-predicts the drift
    assert _mre(sim, mf) < 0.15


def test_muon_momentum_mean_field_against_simulation():
    """Muon with momentum 0.95 (torch convention, Newton-Schulz): the buffer carried in the
    Monte Carlo closure follows the simulation where label noise dominates (sigma = 0.2, mean
    below 10%; measured 1.3%); at sigma = 0 it fails (measured 16% mean), shown in the regime."""
    p = MatrixRegression.power_law(48, 96, 0.75, 0.5, sigma=0.2)
    opt = Muon(0.005, beta=0.95, batch_size=16)
    sim = simulate.run(p, opt, 1000, seeds=8)
    mf = theory.run(p, opt, 1000, "mean-field", n_mc=4)
    assert _mre(sim, mf) < 0.10
    assert "16% off" in mf.attrs["regime"]


def test_muon_buffer_recursion_at_beta_0_is_signsvd():
    """Muon with beta = 0, the exact polar factor and no shape factor is SignSVD: the recursion
    that carries Muon's buffer must give SignSVD's memoryless recursion, within Monte Carlo."""
    p = MatrixRegression.power_law(32, 64, 0.75, 0.5, sigma=0.2)
    muon = Muon(0.01, beta=0.0, batch_size=8, polar="svd", lr_shape_rule="none")
    a = theory.run(p, muon, 400, "mean-field", n_mc=8).risk.values
    b = theory.run(p, SignSVD(0.01, batch_size=8), 400, "mean-field", n_mc=8, seed=1).risk.values
    assert np.mean(np.abs(a - b) / b) < 0.03  # measured 1.4%; beta = 0.5 differs by 18%


def test_mean_field_rejects_memory_and_vector_problems(noisy):
    with pytest.raises(ConfigError, match="memoryless"):
        theory.run(noisy, SGD(0.01, momentum=0.9), 10, "mean-field")
    with pytest.raises(ConfigError, match="drift='mc'"):
        theory.run(noisy, Muon(0.01), 10, "mean-field", drift="erf")
    with pytest.raises(ConfigError, match="erf"):
        theory.run(noisy, SignSVD(0.01), 10, "mean-field", drift="erf")
    with pytest.raises(ConfigError, match="B < m"):
        theory.run(noisy, SignSVD(0.01, batch_size=200), 10)
    with pytest.raises(ConfigError, match="mean-field"):
        theory.run(noisy, SGD(0.01), 10, n_mc=3)
