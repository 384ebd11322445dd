"""The simulation engine against independent computations."""

import json

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from optdyn import noise, simulate
from optdyn.errors import ConfigError
from optdyn.optimizers import SGD, Adam, ClippedSGD, SignSGD
from optdyn.problems import LinearRegression, RandomVector, spectra


def exact_sgd_modes(lam, v0, lr, batch, sigma2, ckpts):
    """Exact expected per-mode energies of mini-batch SGD on Gaussian data (Isserlis):

    v_j <- [(1 - lr l_j)^2 + lr^2 l_j^2 / B] v_j + (lr^2 / B) l_j (R + sigma^2 / 2),
    R = sum_j l_j v_j
    """
    v = v0.copy()
    out, k = [], 0
    for c in ckpts:
        while k < c:
            r = lam @ v
            v = ((1 - lr * lam) ** 2 + lr**2 * lam**2 / batch) * v + lr**2 / batch * lam * (
                r + sigma2 / 2
            )
            k += 1
        out.append(lam @ v)
    return np.asarray(out)


def _check_within_3se(ds, exact, picks):
    risk = ds.risk.values  # (seed, step)
    mean = risk.mean(0)
    se = risk.std(0, ddof=1) / np.sqrt(risk.shape[0])
    for i in picks:
        assert abs(mean[i] - exact[i]) < 3 * se[i], (i, mean[i], exact[i], se[i])


def test_sgd_matches_exact_recursion_isotropic():
    d, lam, lr, b, sigma = 40, 1.0, 0.01, 2, 0.5
    prob = LinearRegression(eigenvalues=spectra.isotropic(d, lam), theta_star=RandomVector(2.0),
                            noise=noise.Gaussian(sigma))
    ds = simulate.run(prob, SGD(lr, batch_size=b), 600, seeds=400, points_per_decade=4)
    v0 = 0.5 * prob.modes(prob.theta0 - prob.theta_star) ** 2
    exact = exact_sgd_modes(np.full(d, lam), v0, lr, b, sigma**2, ds.step.values)
    assert np.isclose(ds.risk.values[:, 0], exact[0]).all()
    _check_within_3se(ds, exact, picks=[3, 6, 9, len(exact) - 1])
    # and the risk really moved: the check is not trivially satisfied at R0
    assert exact[-1] < 0.5 * exact[0]


def test_sgd_matches_exact_recursion_rotated_power_law():
    d, lr = 30, 0.1
    prob = LinearRegression(eigenvalues=spectra.power_law(d, 0.6), basis="haar", basis_seed=3,
                            theta_star=RandomVector(3.0), noise=noise.Laplace(0.3))
    ds = simulate.run(prob, SGD(lr), 1000, seeds=300, points_per_decade=3)
    v0 = 0.5 * prob.modes(prob.theta0 - prob.theta_star) ** 2
    exact = exact_sgd_modes(prob.eigenvalues, v0, lr, 1, prob.noise.variance, ds.step.values)
    _check_within_3se(ds, exact, picks=[3, 5, 7, len(exact) - 1])
    assert exact[-1] < 0.3 * exact[0]


def test_seed_alone_equals_seed_in_batch_and_coordinate():
    prob = LinearRegression(eigenvalues=spectra.power_law(50, 0.5), basis="haar",
                            theta_star=RandomVector(1.0), noise=noise.StudentT(3.0, 0.2))
    opts = [SGD(0.05), SignSGD(1e-3)]
    alone = simulate.run(prob, opts, 500, seeds=[3])
    batch = simulate.run(prob, opts, 500, seeds=8)
    assert list(batch.seed.values) == list(range(8))
    assert alone.seed.values.tolist() == [3]
    np.testing.assert_allclose(alone.risk.sel(seed=3).values, batch.risk.sel(seed=3).values,
                               rtol=2e-5)
    # different seeds give different runs
    assert not np.allclose(batch.risk.sel(seed=2).values, batch.risk.sel(seed=3).values)


def test_stacked_sweep_equals_separate_runs():
    prob = LinearRegression(eigenvalues=spectra.power_law(40, 0.5),
                            theta_star=RandomVector(1.0), noise=noise.Gaussian(0.1))
    sweep = simulate.run(prob, [SGD(0.02), SGD(0.1)], 300, seeds=2)
    single = simulate.run(prob, SGD(0.1), 300, seeds=2)
    np.testing.assert_allclose(sweep.risk.isel(config=1).values, single.risk.values, rtol=1e-6)
    np.testing.assert_array_equal(sweep.lr.values, [0.02, 0.1])


def test_engine_sgd_equals_optax_sgd_trajectory():
    prob = LinearRegression(eigenvalues=spectra.power_law(30, 0.5), basis="haar",
                            theta_star=RandomVector(1.0), noise=noise.Gaussian(0.2))
    ds = simulate.run(prob, [SGD(0.05, momentum=0.5), optax.sgd(0.05, momentum=0.5)], 400,
                      seeds=3, return_params=True)
    np.testing.assert_allclose(ds.risk.isel(config=0), ds.risk.isel(config=1), rtol=1e-5)
    np.testing.assert_allclose(ds.theta_final.isel(config=0), ds.theta_final.isel(config=1),
                               rtol=1e-5, atol=1e-6)


def test_engine_adam_equals_optax_adam_trajectory():
    prob = LinearRegression(eigenvalues=spectra.power_law(30, 0.5),
                            theta_star=RandomVector(1.0), noise=noise.Gaussian(0.2))
    ds = simulate.run(prob, [Adam(1e-2, b1=0.8, b2=0.95), optax.adam(1e-2, b1=0.8, b2=0.95)],
                      300, seeds=2, return_params=True)
    np.testing.assert_allclose(ds.theta_final.isel(config=0), ds.theta_final.isel(config=1),
                               rtol=1e-4, atol=1e-6)


def test_per_sample_clipping_with_huge_threshold_is_sgd_and_small_threshold_differs():
    prob = LinearRegression(eigenvalues=spectra.power_law(30, 0.5),
                            theta_star=RandomVector(2.0), noise=noise.Gaussian(0.2))
    ds = simulate.run(prob, [SGD(0.05, batch_size=4), ClippedSGD(0.05, 1e9, batch_size=4),
                             ClippedSGD(0.05, 0.05, batch_size=4),
                             ClippedSGD(0.05, 0.05, batch_size=4, mode="per_batch")],
                      300, seeds=2)
    r = ds.risk.values
    np.testing.assert_allclose(r[0], r[1], rtol=1e-5)
    assert not np.allclose(r[0, :, -1], r[2, :, -1], rtol=1e-2)
    assert not np.allclose(r[2, :, -1], r[3, :, -1], rtol=1e-2)


def test_divergence_is_flagged_not_nan():
    prob = LinearRegression(eigenvalues=spectra.isotropic(20), theta_star=RandomVector(1.0),
                            noise=noise.Gaussian(0.1))
    ds = simulate.run(prob, [SGD(0.01), SGD(1.5)], 2000, seeds=3)
    assert not ds.diverged.isel(config=0).any()
    assert ds.diverged.isel(config=1).all()
    bad = ds.risk.isel(config=1).values
    assert not np.isnan(bad).any()
    assert np.isinf(bad[:, -1]).all()
    assert (ds.diverged_step.isel(config=1).values > 0).all()
    assert np.isfinite(ds.risk.isel(config=0).values).all()


def test_dataset_structure_and_attrs():
    prob = LinearRegression(eigenvalues=spectra.power_law(25, 0.5), theta_star=RandomVector(1.0),
                            noise=noise.Gaussian(0.3))
    ds = simulate.run(prob, SGD(0.1, batch_size=2), 100, seeds=2, points_per_decade=5)
    assert ds.risk.dims == ("seed", "step")
    assert ds.step.values[0] == 0 and ds.step.values[-1] == 100
    np.testing.assert_array_equal(ds.samples.values, 2 * ds.step.values)
    np.testing.assert_allclose(ds.t.values, ds.samples.values / 25)
    np.testing.assert_allclose(ds.loss.values, ds.risk.values + 0.5 * 0.09)
    cfg = json.loads(ds.attrs["config"])
    assert cfg["optimizers"][0]["lr"] == 0.1 and cfg["problem"]["d"] == 25
    assert ds.attrs["dtype"] == "float32" and "optdyn_version" in ds.attrs
    heavy = LinearRegression(eigenvalues=spectra.isotropic(5), noise=noise.Cauchy(0.1))
    assert "loss" not in simulate.run(heavy, SGD(0.01), 10, seeds=1)


def test_float64_option():
    prob = LinearRegression(eigenvalues=spectra.isotropic(5), theta_star=RandomVector(1.0))
    ds = simulate.run(prob, SGD(0.1), 50, seeds=1, dtype="float64", return_params=True)
    assert ds.attrs["dtype"] == "float64"
    assert ds.risk.values[0, -1] < ds.risk.values[0, 0]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(steps=0), "steps"),
        (dict(steps=10, seeds=0), "seeds"),
        (dict(steps=10, seeds=[1, 1]), "seeds"),
        (dict(steps=10, dtype="float16"), "dtype"),
    ],
)
def test_bad_run_arguments(kwargs, field):
    prob = LinearRegression(eigenvalues=spectra.isotropic(3))
    with pytest.raises(ConfigError) as e:
        simulate.run(prob, SGD(0.1), **kwargs)
    assert e.value.field == field


def test_bad_optimizer_object():
    prob = LinearRegression(eigenvalues=spectra.isotropic(3))
    with pytest.raises(ConfigError) as e:
        simulate.run(prob, [SGD(0.1), "adam"], 10)
    assert e.value.field == "optimizer[1]"


def test_checkpoint_grid():
    g = simulate.checkpoint_steps(1000, 10)
    assert g[0] == 0 and g[-1] == 1000 and np.all(np.diff(g) > 0)
    ratios = g[12:] / g[11:-1]
    assert np.all(ratios < 1.4)
    assert len(g) < 40


def test_sample_matches_definition():
    lam = np.array([3.0, 1.0, 0.5, 0.1])
    prob = LinearRegression(eigenvalues=lam, basis="haar", basis_seed=7,
                            theta_star=np.array([1.0, -1.0, 0.5, 0.0]), noise=noise.Gaussian(0.5))
    import jax

    x, y = prob.sample(jax.random.key(0), 200_000, jnp.float64)
    x, y = np.asarray(x), np.asarray(y)
    emp = x.T @ x / x.shape[0]
    k = prob.K
    se = np.sqrt((np.outer(np.diag(k), np.diag(k)) + k**2) / x.shape[0])
    assert np.all(np.abs(emp - k) < 5 * se)
    resid = y - x @ prob.theta_star
    assert abs(resid.var() - 0.25) < 5 * 0.25 * np.sqrt(2 / len(resid))


def test_adam_without_moments_is_signsgd_in_the_engine():
    prob = LinearRegression(eigenvalues=spectra.power_law(30, 0.5), basis="haar",
                            theta_star=RandomVector(1.0), noise=noise.Gaussian(0.2))
    ds = simulate.run(prob, [SignSGD(1e-2), Adam(1e-2, b1=0.0, b2=0.0, eps=0.0)], 300, seeds=2)
    np.testing.assert_allclose(ds.risk.isel(config=0), ds.risk.isel(config=1), rtol=1e-5)


def test_progress_bar_and_interrupt_keep_reached_checkpoints(monkeypatch):
    from optdyn._core.progress import Progress

    prob = LinearRegression(eigenvalues=spectra.isotropic(10), theta_star=RandomVector(1.0))
    full = simulate.run(prob, SGD(0.01), 4000, seeds=2, block_size=64, progress=True)
    calls = {"n": 0}
    original = Progress.update

    def interrupt_after_a_while(self, key, done, label=None):
        calls["n"] += 1
        if calls["n"] == 20:
            raise KeyboardInterrupt
        return original(self, key, done, label)

    monkeypatch.setattr(Progress, "update", interrupt_after_a_while)
    with pytest.warns(UserWarning, match="interrupted"):
        part = simulate.run(prob, SGD(0.01), 4000, seeds=2, block_size=64)
    assert part.attrs["interrupted"] == 1
    n = part.sizes["step"]
    assert 1 < n < full.sizes["step"]
    np.testing.assert_allclose(part.risk.values, full.risk.values[:, :n], rtol=1e-6)


@pytest.mark.slow
def test_sgd_exact_recursion_large_d_rotated():
    d, lr = 400, 0.5 / 400 * 20
    prob = LinearRegression(eigenvalues=spectra.power_law(d, 0.5), basis="haar",
                            theta_star=RandomVector(2.0), noise=noise.StudentT(5.0, 0.3))
    ds = simulate.run(prob, SGD(lr, batch_size=4), 20_000, seeds=200, points_per_decade=3)
    v0 = 0.5 * prob.modes(prob.theta0 - prob.theta_star) ** 2
    exact = exact_sgd_modes(prob.eigenvalues, v0, lr, 4, prob.noise.variance, ds.step.values)
    _check_within_3se(ds, exact, picks=list(range(4, len(exact), 2)))
