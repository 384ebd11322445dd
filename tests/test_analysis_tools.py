"""The shared study tools: error metric, learning-rate search, power-law fits."""

import numpy as np
import pytest
import xarray as xr
from scipy import optimize

from optdyn.analysis.compare import diverged_fraction, mean_relative_error, relative_error
from optdyn.analysis.fits import fit_power_law, slope
from optdyn.analysis.tuning import parabola_vertex, search_lr, tune_lr
from optdyn.errors import ConfigError
from optdyn.noise import Gaussian
from optdyn.optimizers import SGD
from optdyn.problems import LinearRegression, spectra


def _sim(risk: np.ndarray) -> xr.Dataset:
    return xr.Dataset({"risk": (("config", "seed", "step"), risk)},
                      coords={"step": np.arange(risk.shape[-1])})


def test_relative_error_closed_form_and_diverged_seed_policy():
    th = xr.Dataset({"risk": (("config", "step"), np.ones((1, 4)))},
                    coords={"step": np.arange(4)})
    r = np.array([[[1.0, 1.1, 1.2, 1.3], [1.0, 1.3, 1.2, np.nan]]])
    # seed means 1.2, 1.2, 1.3 (the nan seed left out) -> errors .2, .2, .3
    assert mean_relative_error(_sim(r), th)[0] == pytest.approx(0.7 / 3)
    assert relative_error(_sim(r), th, reduce="max")[0] == pytest.approx(0.3)
    assert diverged_fraction(_sim(r))[0] == pytest.approx(0.5)
    all_bad = np.full((1, 2, 4), np.nan)
    assert np.isnan(mean_relative_error(_sim(all_bad), th)[0])


def test_relative_error_interpolates_theory_on_other_grid():
    th = xr.Dataset({"risk": ("step", np.array([1.0, 2.0, 3.0]))}, coords={"step": [0, 2, 4]})
    sim = _sim(np.array([[[1.0, 1.5, 2.0, 2.5, 3.0]]]))
    assert mean_relative_error(sim, th)[0] == pytest.approx(0.0, abs=1e-12)


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


def test_power_law_fit_recovers_slope_and_se():
    rng = np.random.default_rng(0)
    x = np.geomspace(1, 1e3, 40)
    y = 2 * x ** -0.7 * np.exp(0.05 * rng.standard_normal(40))
    fit = fit_power_law(x, y)
    assert abs(fit.slope + 0.7) < 3 * fit.slope_se + 1e-3
    lx, ly = np.log10(x), np.log10(y)
    assert slope(x, y) == pytest.approx(np.polyfit(lx, ly, 1)[0])
