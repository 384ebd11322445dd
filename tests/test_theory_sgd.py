"""SGD theory: the exact recursion against Monte Carlo, batching, limits and divergence.

The integrator's own checks against SciPy are in test_theory_integrator.py."""

import math

import numpy as np
import pytest

from optdyn import noise, simulate, theory
from optdyn.errors import ConfigError
from optdyn.optimizers import SGD
from optdyn.problems import LinearRegression, RandomVector, spectra


@pytest.fixture(scope="module")
def prob200():
    return LinearRegression(eigenvalues=spectra.power_law(200, 0.75), basis="haar",
                            theta_star=RandomVector(10.0), noise=noise.Gaussian(0.3))


def test_batched_configs_equal_single_runs(prob200):
    lrs = [0.02, 0.1, 0.4]
    both = theory.run(prob200, [SGD(lr) for lr in lrs], 5000)
    for i, lr in enumerate(lrs):
        one = theory.run(prob200, SGD(lr), 5000)
        np.testing.assert_allclose(both.risk.values[i], one.risk.values, rtol=1e-12)


def test_exact_recursion_matches_monte_carlo_where_the_ode_fails():
    # small d, large learning rate (0.8 of the exact critical rate), batch 2: the O(lr^2 l^2)
    # terms the ODE drops matter, the exact recursion does not drop them
    d = 8
    p = LinearRegression(eigenvalues=np.linspace(1.0, 0.2, d), basis="haar",
                         theta_star=RandomVector(1.0), noise=noise.Gaussian(0.2))
    opt0 = SGD(1.0, batch_size=2)
    lr = 0.8 * theory.critical_lr(p, opt0, method="exact")
    opt = SGD(lr, batch_size=2)
    ex = theory.run(p, opt, 40, method="exact", points_per_decade=5)
    ode = theory.run(p, opt, 40, method="ode", points_per_decade=5)
    sim = simulate.run(p, opt, 40, seeds=6000, dtype="float64", points_per_decade=5)
    r = sim.risk.values
    mean, se = r.mean(0), r.std(0, ddof=1) / np.sqrt(r.shape[0])
    z = np.abs(mean - ex.risk.values)[1:] / se[1:]
    assert z.max() < 3.0, z
    # ... while the ODE is off by many standard errors somewhere on the curve
    assert (np.abs(mean - ode.risk.values)[1:] / se[1:]).max() > 6.0


def test_limit_risk_and_critical_rate(prob200):
    p = prob200
    tr, s2 = p.trace, 0.09
    crit = theory.critical_lr(p, SGD(0.1))
    assert crit == pytest.approx(2 / tr)
    lr = 0.5 * crit
    expect = lr * s2 * tr / (4 - 2 * lr * tr)
    assert theory.limit_risk(p, SGD(lr)) == pytest.approx(expect, rel=1e-12)
    # the ODE run reaches it
    th = theory.run(p, SGD(lr), 10**7)
    assert float(th.risk[-1]) == pytest.approx(expect, rel=1e-5)
    # the exact recursion's own fixed point, reached by the recursion
    ex_lim = theory.limit_risk(p, SGD(lr), method="exact")
    ex = theory.run(p, SGD(lr), 200_000, method="exact", points_per_decade=2)
    assert float(ex.risk[-1]) == pytest.approx(ex_lim, rel=1e-6)
    # the exact critical rate is below the ODE's (the lr^2 l^2 term destabilises)
    assert theory.critical_lr(p, SGD(lr), method="exact") < crit


@pytest.mark.parametrize("method", ["ode", "exact"])
def test_divergence_is_reported_with_the_critical_rate(prob200, method):
    crit = theory.critical_lr(prob200, SGD(0.1), method=method)
    with pytest.warns(UserWarning, match=f"critical learning rate of the {method} theory is"):
        th = theory.run(prob200, [SGD(0.9 * crit), SGD(1.1 * crit)], 10**5, method=method)
    assert th.diverged.values.tolist() == [False, True]
    assert np.isinf(th.risk.values[1, -1]) and np.isfinite(th.risk.values[0]).all()
    assert th.diverged_step.values[1] > 0
    np.testing.assert_allclose(th.critical_lr.values, crit)
    assert math.isinf(th.limit_risk.values[1])


def test_bad_input():
    p = LinearRegression(eigenvalues=spectra.isotropic(10), noise=noise.Cauchy(0.5))
    with pytest.raises(ConfigError, match="infinite") as e:
        theory.run(p, SGD(0.1), 100)
    assert "ClippedSGD or SignSGD" in str(e.value)
    q = LinearRegression(eigenvalues=spectra.isotropic(10), noise=noise.Gaussian(0.5))
    # SGD with momentum has its own law now (tests/test_theory_momentum.py); plain SGD's law
    # does not take it
    import json
    th = theory.run(q, SGD(0.01, momentum=0.9), 100)
    assert json.loads(th.attrs["config"])["laws"] == ["momentum"]
    from optdyn.theory.laws import SGDLaw
    assert not SGDLaw.covers(SGD(0.1, momentum=0.9), "vector")
    with pytest.raises(ConfigError, match="method"):
        theory.run(q, SGD(0.1), 100, method="euler")
    from optdyn.optimizers import Adam
    with pytest.raises(ConfigError, match="no risk-curve theory for Adam"):
        theory.run(q, [SGD(0.1), Adam(0.1)], 100)


def test_dataset_shares_simulation_coordinates(prob200):
    opts = [SGD(0.05), SGD(0.1, batch_size=1)]
    th = theory.run(prob200, opts, 1000)
    sim = simulate.run(prob200, opts, 1000, seeds=2)
    for c in ("step", "samples", "t", "config", "label", "lr", "batch_size"):
        np.testing.assert_array_equal(th[c].values, sim[c].values)
    assert th.attrs["kind"] == "theory" and sim.attrs["kind"] == "simulation"
    assert th.risk.dims == ("config", "step")
