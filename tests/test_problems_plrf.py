"""Power-law random features: the exact reduction to linear regression (docs/theory/signsgd.md
section 10.3).

Independent references: a Monte Carlo least-squares fit on sampled (z, y) for theta_opt and
sigma_xi^2, the closed forms of the population loss, simulations of the PLRF itself for the
theory of the reduced problem.
"""

import jax
import numpy as np
import pytest

from optdyn import simulate, theory
from optdyn.errors import ConfigError
from optdyn.optimizers import SGD, SignSGD
from optdyn.problems import LinearRegression
from optdyn.problems.plrf import PowerLawRandomFeatures, ReducedPLRF


def _plrf(v=48, d=16, alpha=0.8, beta=0.5, seed=3):
    return PowerLawRandomFeatures(v=v, d=d, alpha=alpha, beta=beta, seed=seed)


# --------------------------------------------------------------------------- exact reduction
def test_model_definition():
    p = _plrf()
    j = np.arange(1, p.v + 1)
    np.testing.assert_allclose(p.x_variance, j ** (-1.6))  # variance j^(-2 alpha), not std
    np.testing.assert_allclose(p.b, j ** (-0.5))
    assert p.W.shape == (48, 16)
    np.testing.assert_allclose(p.K, p.W.T @ np.diag(p.x_variance) @ p.W, rtol=1e-12)
    # sampled inputs have the stated variance
    x, _ = p.draw(p.engine_arrays(np.float64), jax.random.key(0), 200_000, np.float64)
    var = np.asarray(x).var(axis=0)
    np.testing.assert_allclose(var[:5], p.x_variance[:5], rtol=0.02)


def test_reduced_problem_is_a_linear_regression():
    p = _plrf()
    for stream in ("features", "gaussian"):
        r = p.reduce(stream)
        assert isinstance(r, LinearRegression)
        np.testing.assert_allclose(r.K, p.K, atol=1e-14)
        np.testing.assert_allclose(r.theta_star, p.theta_opt)
        assert r.noise_second_moment == pytest.approx(p.sigma_xi2, rel=1e-12)
        assert r.initial_risk == pytest.approx(p.initial_risk, rel=1e-10)
    assert isinstance(p.reduce(), ReducedPLRF)


def test_gradient_and_risk_identities_same_key():
    """(<z, theta> - y) z = (<z, theta - theta_opt> - xi) z on the same draw; R = P - F0."""
    p = _plrf()
    r = p.reduce()
    ap, ar = p.engine_arrays(np.float64), r.engine_arrays(np.float64)
    key = jax.random.key(7)
    xp, yp = p.draw(ap, key, 5, np.float64)
    xr_, xi = r.draw(ar, key, 5, np.float64)
    zp, zr = p.rotate(ap, xp), r.rotate(ar, xr_)
    np.testing.assert_array_equal(np.asarray(zp), np.asarray(zr))
    np.testing.assert_allclose(np.asarray(xi), np.asarray(yp - zp @ p.theta_opt), atol=1e-14)
    theta = np.random.default_rng(0).standard_normal(p.d)
    for per_sample in (False, True):
        gp = p.gradient(ap, theta, (zp, yp), per_sample)
        gr = r.gradient(ar, theta, (zr, xi), per_sample)
        np.testing.assert_allclose(np.asarray(gp), np.asarray(gr), rtol=1e-12, atol=1e-14)
    thetas = np.random.default_rng(1).standard_normal((4, p.d))
    np.testing.assert_allclose(np.asarray(p.risk_jax(ap, thetas)),
                               np.asarray(r.risk_jax(ar, thetas)), rtol=1e-11)


@pytest.mark.parametrize("opt", [SGD(0.05), SignSGD(2e-3)], ids=["sgd", "signsgd"])
def test_simulations_from_the_same_key_agree(opt):
    """The engine runs the PLRF in v-space and the reduced problem by its K_f formulas."""
    p = _plrf()
    a = simulate.run(p, opt, 400, seeds=2, dtype="float64", points_per_decade=4)
    b = simulate.run(p.reduce(), opt, 400, seeds=2, dtype="float64", points_per_decade=4)
    ra, rb = a.risk.values, b.risk.values
    assert ra[..., -1].max() < 0.2 * ra[..., 0].min()  # it moved
    assert np.max(np.abs(ra / rb - 1)) < 1e-9
    np.testing.assert_allclose(a.loss.values, ra + p.F0, rtol=1e-12)


# --------------------------------------------------------------------------- capacity floor
def test_theta_opt_and_sigma_xi_against_monte_carlo():
    p = _plrf(v=60, d=12)
    n = 400_000
    rng = np.random.default_rng(11)
    x = rng.standard_normal((n, p.v)) * np.sqrt(p.x_variance)
    z, y = x @ p.W, x @ p.b
    theta_mc = np.linalg.lstsq(z, y, rcond=None)[0]
    resid = y - z @ theta_mc
    # the sampling error of a least-squares fit: sigma_xi / sqrt(n lambda)
    lam = np.linalg.eigvalsh(p.K)
    tol = 6 * np.sqrt(p.sigma_xi2 / (n * lam.min()))
    assert np.abs(theta_mc - p.theta_opt).max() < tol
    assert resid.var() == pytest.approx(p.sigma_xi2, rel=0.02)
    # xi is uncorrelated with (hence, being jointly Gaussian, independent of) the features
    xi = y - z @ p.theta_opt
    corr = (z * xi[:, None]).mean(0) / np.sqrt(z.var(0) * xi.var())
    assert np.abs(corr).max() < 6 / np.sqrt(n)
    # closed form sigma_xi^2 = b^T Lambda b - theta_opt^T K_f theta_opt
    direct = p.b @ (p.x_variance * p.b) - p.theta_opt @ p.K @ p.theta_opt
    assert direct == pytest.approx(p.sigma_xi2, rel=1e-9)


def test_capacity_floor():
    p = _plrf()
    assert p.sigma_xi2 > 0
    assert p.population_loss(p.theta_opt) == pytest.approx(p.F0, rel=1e-10)
    assert abs(p.risk(p.theta_opt)) < 1e-12 * p.F0 + 1e-15
    thetas = p.theta_opt + 0.3 * np.random.default_rng(2).standard_normal((20, p.d))
    loss = p.population_loss(thetas)
    assert np.all(loss > p.F0)
    e = thetas - p.theta_opt
    np.testing.assert_allclose(loss, 0.5 * np.einsum("ni,ij,nj->n", e, p.K, e) + p.F0,
                               rtol=1e-11)
    # more features capture more of the target: the floor falls with d at fixed v
    floors = [PowerLawRandomFeatures(v=96, d=d, alpha=0.8, beta=0.5).F0 for d in (8, 24, 72)]
    assert floors[0] > floors[1] > floors[2] > 0
    # v = d: W is invertible, the floor vanishes
    assert PowerLawRandomFeatures(v=16, d=16, alpha=0.8, beta=0.5).F0 < 1e-20


# --------------------------------------------------------------------------- theory vs simulation
def test_theory_of_reduced_problem_matches_plrf_simulation():
    """Means of PLRF simulations against the signSGD ODE and SGD's exact recursion of the
    reduced problem at small learning rates (docs/theory/signsgd.md section 10.3: compare means
    over seeds)."""
    p = PowerLawRandomFeatures(v=192, d=64, alpha=0.5, beta=0.5, seed=0)
    red = p.reduce()
    steps = 3000
    opts = [SignSGD(4e-4), SGD(0.05 * 2 / red.trace)]
    sim = simulate.run(p, opts, steps, seeds=24, points_per_decade=6)
    th = np.stack([theory.run(red, opts[0], steps, points_per_decade=6).risk.values,
                   theory.run(red, opts[1], steps, method="exact",
                              points_per_decade=6).risk.values])
    mean = sim.risk.mean("seed").values
    rel = np.abs(mean / th - 1)[:, 1:]
    assert np.all(th[:, 0] / th[:, -1] > 3)  # the curves moved
    assert np.all(rel.mean(axis=1) < 0.05), rel.mean(axis=1)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs,field",
    [
        (dict(v=10, d=20), "v"),
        (dict(d=0), "d"),
        (dict(v=2.5), "v"),
        (dict(alpha=-0.1), "alpha"),
        (dict(alpha=0.2, beta=0.2), "beta"),
        (dict(beta=float("nan")), "beta"),
        (dict(seed=-1), "seed"),
        (dict(theta0=np.zeros(3)), "theta0"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    base = dict(v=48, d=16, alpha=0.8, beta=0.5)
    base.update(kwargs)
    with pytest.raises(ConfigError) as e:
        PowerLawRandomFeatures(**base)
    assert e.value.field == field


def test_bad_stream():
    with pytest.raises(ConfigError) as e:
        _plrf().reduce("nope")
    assert e.value.field == "stream"


def test_figure_is_registered():
    import optdyn.reproduce.plrf  # noqa: F401
    from optdyn.reproduce import _REGISTRY

    assert "signsgd-plrf-scaling" in _REGISTRY
