"""The one best-learning-rate search: grid plus parabola refinement, over optimizer objects."""

import numpy as np
import pytest
from scipy import optimize

from optdyn.analysis.tuning import parabola_vertex, search_lr, tune_lr
from optdyn.errors import ConfigError
from optdyn.noise import Gaussian
from optdyn.optimizers import SGD
from optdyn.problems import LinearRegression, spectra


def test_parabola_vertex_exact_on_a_parabola():
    x = np.linspace(-2, 2, 9)[None, :]
    y = (x - 0.37) ** 2 + 1
    xv, edge = parabola_vertex(x, y)
    assert xv[0] == pytest.approx(0.37) and edge[0] == 0


def test_search_lr_refines_and_raises_at_grid_end():
    target = np.array([3e-2, 1e-1])
    def evaluate(g):  # two horizons; log value is a parabola in log lr with vertex at target
        return np.exp((np.log(np.asarray(g))[:, None] - np.log(target)[None, :]) ** 2)
    res = search_lr(evaluate, np.geomspace(1e-3, 1.0, 10))
    np.testing.assert_allclose(res.lr, target, rtol=1e-8)
    with pytest.raises(ConfigError) as e:
        search_lr(evaluate, np.geomspace(1e-3, 2e-2, 5))
    assert e.value.field == "lrs"
    flagged = search_lr(evaluate, np.geomspace(1e-3, 2e-2, 5), at_edge="flag")
    assert list(flagged.edge) == [1, 1]


def test_tune_lr_matches_scipy_on_the_theory():
    p = LinearRegression(eigenvalues=spectra.power_law(64, 1.0), theta_star=np.ones(64),
                         theta0=np.zeros(64), noise=Gaussian(1.0))
    steps = 200
    res = tune_lr(p, SGD(0.1), steps, np.geomspace(1e-3, 0.6, 12), method="exact")
    from optdyn import theory

    def final(log_g):
        return float(theory.run(p, SGD(float(np.exp(log_g))), steps, method="exact")["risk"][-1])
    ref = optimize.minimize_scalar(final, bounds=(np.log(0.02), np.log(0.3)), method="bounded",
                                   options={"xatol": 1e-4})
    assert res.value[0] == pytest.approx(ref.fun, rel=2e-3)
    assert res.lr[0] == pytest.approx(np.exp(ref.x), rel=0.15)
    with pytest.raises(ConfigError, match="optimizer"):
        tune_lr(p, "sgd", steps, [0.1, 0.2, 0.3])


def test_tune_lr_reads_the_theory_at_each_horizon_exactly():
    p = LinearRegression(eigenvalues=spectra.power_law(32, 1.0), theta_star=np.ones(32),
                         theta0=np.zeros(32), noise=Gaussian(1.0))
    from optdyn import theory

    res = tune_lr(p, SGD(0.1), [450, 700], np.geomspace(1e-3, 0.6, 10), method="exact",
                  refine=False)
    for t, g, v in zip((450, 700), res.lr, res.value, strict=True):
        ds = theory.run(p, SGD(float(g)), t, method="exact", at=[0, t])
        assert float(ds["risk"][-1]) == pytest.approx(v, rel=1e-12)
