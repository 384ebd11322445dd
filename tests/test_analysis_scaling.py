"""Compute-optimal analysis: power-law fits, frontiers, the best learning rate from the theory."""

import math

import numpy as np
import pytest
import xarray as xr

from optdyn import theory
from optdyn.analysis.fits import fit_power_law
from optdyn.analysis.scaling import (
    compute_optimal,
    frontier,
    optimal_lr_losses,
    steps_grid,
)
from optdyn.errors import ConfigError
from optdyn.optimizers import SGD, SignSGD
from optdyn.problems.plrf import PowerLawRandomFeatures


# --------------------------------------------------------------------------- fits
def test_fit_recovers_exact_power_law():
    x = np.logspace(1, 5, 12)
    fit = fit_power_law(x, 3.0 * x**-0.7)
    assert fit.slope == pytest.approx(-0.7, abs=1e-12)
    assert fit.intercept == pytest.approx(math.log10(3.0), abs=1e-12)
    assert fit.slope_se < 1e-10


def test_fit_slope_and_its_uncertainty_on_noisy_data():
    """Log-normal noise of known size: the slope is unbiased, the OLS standard error matches
    the spread of the slope over replications, and 95% intervals cover about 95% of the time."""
    rng = np.random.default_rng(0)
    x = np.logspace(2, 6, 25)
    reps = 400
    slopes, ses = np.empty(reps), np.empty(reps)
    for i in range(reps):
        y = 2.0 * x**-0.45 * np.exp(0.1 * rng.standard_normal(x.size))
        fit = fit_power_law(x, y)
        slopes[i], ses[i] = fit.slope, fit.slope_se
    # theoretical standard error: sigma / (ln 10 sqrt(S_xx)) in log10 units
    lx = np.log10(x)
    se_true = 0.1 / math.log(10) / math.sqrt(np.sum((lx - lx.mean()) ** 2))
    assert abs(slopes.mean() + 0.45) < 4 * se_true / math.sqrt(reps)
    assert slopes.std(ddof=1) == pytest.approx(se_true, rel=0.12)
    assert np.mean(ses) == pytest.approx(se_true, rel=0.05)
    cover = np.mean(np.abs(slopes + 0.45) <= 1.96 * ses * 1.03)  # t(23) quantile 2.07
    assert 0.91 <= cover <= 0.98
    # the bootstrap standard error estimates the same spread
    y = 2.0 * x**-0.45 * np.exp(0.1 * rng.standard_normal(x.size))
    boot = fit_power_law(x, y, bootstrap=2000, seed=1)
    assert boot.slope_se == pytest.approx(se_true, rel=0.35)
    assert boot.method == "bootstrap(2000)"


@pytest.mark.parametrize(
    "x,y,field",
    [
        ([1.0, 2.0], [1.0, 2.0], "x"),
        ([1.0, 2.0, 3.0], [1.0, -2.0, 3.0], "y"),
        ([1.0, 0.0, 3.0], [1.0, 2.0, 3.0], "x"),
        ([1.0, 2.0, 3.0], [1.0, 2.0], "y"),
        ([2.0, 2.0, 2.0], [1.0, 2.0, 3.0], "x"),
    ],
)
def test_fit_bad_input(x, y, field):
    with pytest.raises(ConfigError) as e:
        fit_power_law(x, y)
    assert e.value.field == field


# --------------------------------------------------------------------------- frontier
def test_frontier_of_a_separable_law_has_the_known_exponent():
    """L(d, r) = d^-a + r^-b: min_d L(d, f/d) ~ f^(-ab/(a+b)) (the Chinchilla-type balance)."""
    a, b = 0.8, 0.4
    ds = np.unique(np.round(np.logspace(1, 4, 61)).astype(int))
    steps = np.unique(np.round(np.logspace(0, 6, 121)).astype(int))
    loss = ds[:, None] ** -a + steps[None, :] ** -b + 0.0
    fr = frontier(loss, ds, steps, per_decade=8)
    f = fr["f"].values
    win = (f > 1e5) & (f < 1e7)
    fit = fit_power_law(f[win], fr["frontier_loss"].values[win])
    assert fit.slope == pytest.approx(-a * b / (a + b), abs=0.01)
    # the optimal size grows like f^(b/(a+b))
    dfit = fit_power_law(f[win], fr["frontier_d"].values[win])
    assert dfit.slope == pytest.approx(b / (a + b), abs=0.04)
    assert np.all(fr["n_models"].values >= 1)


def test_frontier_bad_shape():
    with pytest.raises(ConfigError) as e:
        frontier(np.ones((3, 4)), [1, 2], [1, 2, 3, 4])
    assert e.value.field == "loss"


def test_steps_grid():
    g = steps_grid(16, 4096, 4)
    assert g[0] >= 16 and g[-1] == 4096
    assert np.all(np.diff(g) > 0)
    assert len(g) in (10, 11)
    for kw, field in [(dict(t_min=0, t_max=10), "t_min"), (dict(t_min=10, t_max=10), "t_max"),
                      (dict(t_min=1, t_max=10, per_decade=20), "per_decade")]:
        with pytest.raises(ConfigError) as e:
            steps_grid(**kw)
        assert e.value.field == field


# --------------------------------------------------------------------------- best learning rate
@pytest.mark.parametrize("kind", ["sign_sgd", "sgd"])
def test_best_constant_rate_is_a_minimum(kind):
    """Against independent theory runs at 0.7x and 1.4x the reported rate."""
    p = PowerLawRandomFeatures(v=64, d=16, alpha=0.8, beta=0.4, seed=1)
    red = p.reduce("gaussian")
    steps = steps_grid(16, 512, 1)  # on the theory's checkpoint grid: read, not interpolated
    res = optimal_lr_losses(p, kind, steps, "constant", n_lr=16)
    assert np.all(res["lr_edge"].values == 0)
    make, method = (SignSGD, "ode") if kind == "sign_sgd" else (SGD, "exact")
    facs = (0.7, 1.4, 1.0)
    opts = [make(g * fac) for g in res["lr_opt"].values for fac in facs]
    ds = theory.run(red, opts, int(steps[-1]), method=method, rtol=1e-5, points_per_decade=8)
    got = ds["loss"].sel(step=xr.DataArray(steps)).values.reshape(len(steps), len(facs), -1)
    for i, best in enumerate(res["loss"].values):
        around, same = got[i, :2, i], got[i, 2, i]
        assert np.all(around >= best * (1 - 1e-6))
        assert same == pytest.approx(best, rel=1e-3 if kind == "sign_sgd" else 1e-9)
    assert np.all(res["loss"].values > p.F0)
    assert res.attrs["F0"] == pytest.approx(p.F0)


def test_the_optimizer_by_class_instance_or_name_gives_one_result():
    p = PowerLawRandomFeatures(v=32, d=8, alpha=0.8, beta=0.4, seed=1)
    steps = steps_grid(16, 128, 1)
    ref = optimal_lr_losses(p, "sgd", steps, n_lr=8)
    for spec in (SGD, SGD(0.1), "SGD"):
        res = optimal_lr_losses(p, spec, steps, n_lr=8)
        np.testing.assert_allclose(res["loss"].values, ref["loss"].values, rtol=1e-12)
        assert res.attrs["optimizer"] == "sgd"
    assert optimal_lr_losses(p, SignSGD, steps, n_lr=8).attrs["optimizer"] == "sign_sgd"


def test_bad_kind():
    p = PowerLawRandomFeatures(v=32, d=8, alpha=0.8, beta=0.4)
    with pytest.raises(ConfigError) as e:
        optimal_lr_losses(p, "adam", [10, 20])
    assert e.value.field == "optimizer"
    with pytest.raises(ConfigError) as e:
        optimal_lr_losses(p, "sgd", [10, 20], schedule="cosine")
    assert e.value.field == "schedule"
    with pytest.raises(ConfigError) as e:
        optimal_lr_losses(p, "sgd", [20, 10])
    assert e.value.field == "steps"
    with pytest.raises(ConfigError) as e:
        compute_optimal(0.8, 0.4, [16, 8])
    assert e.value.field == "ds"


def test_compute_optimal_sgd_small():
    ds = compute_optimal(0.8, 0.4, [8, 16, 32], t_min=8, t_max=2048, per_decade=3,
                         optimizers=("sgd",), n_lr=12)
    assert set(ds.dims) >= {"optimizer", "schedule", "d", "steps", "f"}
    loss = ds["loss"].sel(optimizer="sgd")
    # more steps never hurt at the best rate; the loss stays above the capacity floor
    assert np.all(np.diff(loss.sel(schedule="constant").values, axis=-1) <= 1e-12)
    assert np.all(loss.values > ds["F0"].values[None, :, None])
    # the decay phase helps (docs/theory/signsgd.md section 10.3: it removes part of the noise
    # floor)
    assert np.all(loss.sel(schedule="wsd").values[:, -3:]
                  <= loss.sel(schedule="constant").values[:, -3:] * (1 + 1e-9))
    s = ds["slope"].sel(optimizer="sgd")
    assert np.all(np.isfinite(s.values)) and np.all(s.values < 0)
    assert np.all(ds["slope_se"].values > 0)


@pytest.mark.slow
def test_compute_optimal_both_optimizers():
    ds = compute_optimal(1.0, 0.4, [32, 64, 128], t_max=4096)
    assert np.all(np.isfinite(ds["slope"].values))
    assert np.all(ds["slope"].values < 0)
