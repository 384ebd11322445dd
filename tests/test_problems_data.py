"""Real data as the population (DataRegression), feature files, and residual-law fits."""

import math

import jax
import numpy as np
import pytest

import optdyn  # noqa: F401  (float64)
from optdyn import noise as N
from optdyn import simulate, theory
from optdyn.errors import ConfigError
from optdyn.noise.fit import fit_gaussian, fit_gaussian_mixture
from optdyn.optimizers import SGD, ClippedSGD
from optdyn.problems import DataRegression, load_features, sklearn_dataset


def _toy(n=300, p=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) @ np.diag(np.linspace(0.3, 2.0, p)) + 3.0
    y = X @ rng.standard_normal(p) + 0.5 * rng.standard_normal(n) + 7.0
    return X, y


def test_preprocessing_invariants():
    X, y = _toy()
    for rf in (None, 40):
        p = DataRegression.from_arrays(X, y, random_features=rf)
        f = p.features
        assert np.allclose(f.mean(axis=0), 0, atol=1e-12)  # centred features
        assert p.op_norm == pytest.approx(1.0, rel=1e-10)  # ||K|| = 1
        assert np.allclose(p.K, f.T @ f / p.n, atol=1e-12)
        assert p.intrinsic_dimension == pytest.approx(np.trace(p.K), rel=1e-10)
        # theta* is the least-squares solution: residual orthogonal to the features
        assert np.abs(f.T @ p.residuals).max() < 1e-8 * p.n
        assert np.allclose(p.residuals, p.targets - f @ p.theta_star)
        assert abs(p.targets.mean()) < 1e-12
        # the excess risk is the excess training loss on the set
        th = p.theta0
        train = 0.5 * np.mean((f @ th - p.targets) ** 2) - 0.5 * np.mean(p.residuals ** 2)
        assert float(p.risk(th)) == pytest.approx(train, rel=1e-9)
        assert p.noise.std == pytest.approx(math.sqrt(np.mean(p.residuals ** 2)))
    assert DataRegression.from_arrays(X, y, random_features=40).d == 40


def test_one_pass_without_replacement():
    X, y = _toy(n=50, p=3)
    p = DataRegression.from_arrays(X, y)
    arrays = p.engine_arrays(np.float64)
    keys = jax.vmap(jax.random.key)(np.arange(3))
    steps = np.arange(1, 1 + 40)  # B = 5: 200 samples = 4 epochs
    x, eps = p.draw_steps(arrays, keys, steps, 5, np.float64)
    assert x.shape == (40, 3, 5, p.d) and eps.shape == (40, 3, 5)
    rows = np.asarray(x).reshape(4, 10, 3, 5, p.d).transpose(0, 2, 1, 3, 4).reshape(4, 3, 50, p.d)
    data = np.sort(p.features[:, 0])
    for e in range(4):
        for s in range(3):
            # every epoch of every seed visits each row exactly once
            assert np.allclose(np.sort(rows[e, s, :, 0]), data)
    # epochs are reshuffled, seeds differ
    assert not np.allclose(rows[0, 0, :, 0], rows[1, 0, :, 0])
    assert not np.allclose(rows[0, 0, :, 0], rows[0, 1, :, 0])
    # residuals travel with their rows
    eps = np.asarray(eps).reshape(-1)
    xs = np.asarray(x).reshape(-1, p.d)
    rows_idx = _row_index(xs, p.features)
    assert np.allclose(eps, p.residuals[rows_idx])
    # a block that starts mid-run draws what the whole run draws
    x2, _ = p.draw_steps(arrays, keys, steps[17:23], 5, np.float64)
    assert np.allclose(x2, x[17:23])


def _row_index(xs, features):
    d = ((xs[:, None, :] - features[None]) ** 2).sum(-1)
    return d.argmin(axis=1)


def test_simulation_and_theory_run_on_data():
    X, y = _toy(n=400, p=10)
    p = DataRegression.from_arrays(X, y)
    lr = 0.3 / p.trace
    opts = [SGD(lr), ClippedSGD(lr, 0.5 * math.sqrt(p.trace))]
    sim = simulate.run(p, opts, p.n, seeds=8, dtype="float64")
    th = theory.run(p, opts, p.n)
    m = sim.risk.mean("seed").values
    rel = np.abs(m / th.risk.interp(step=sim.step.values).values - 1)[:, 1:]
    # Gaussian-ish toy data with Gaussian residuals: the theory holds well even at d = 10
    assert rel.mean() < 0.1, rel.mean(axis=1)
    assert m[:, -1].max() < 0.2 * m[:, 0].min()


def test_shipped_data_sets():
    for name, shape in (("digits", (1797, 64)), ("breast_cancer", (569, 30))):
        X, y = sklearn_dataset(name)
        assert X.shape == shape and set(np.unique(y)) == {-1.0, 1.0}
    p = DataRegression.from_arrays(*sklearn_dataset("breast_cancer"), random_features=100,
                                   noise_model="mixture")
    assert p.d == 100 and 1.0 < p.intrinsic_dimension < 100
    assert isinstance(p.noise, N.GaussianMixture)
    with pytest.raises(ConfigError, match="dataset"):
        sklearn_dataset("mnist")


def test_feature_files(tmp_path):
    X, y = _toy(n=30, p=4)
    np.savez(tmp_path / "a.npz", X=X, y=y)
    np.savez(tmp_path / "b.npz", features=X, targets=y)
    np.save(tmp_path / "c.npy", np.column_stack([X, y]))
    np.save(tmp_path / "d.npy", X)
    for f in ("a.npz", "b.npz", "c.npy"):
        X2, y2 = load_features(tmp_path / f)
        assert np.allclose(X2, X) and np.allclose(y2, y)
    X2, y2 = load_features(tmp_path / "d.npy", y=y)
    assert np.allclose(X2, X) and np.allclose(y2, y)
    p = DataRegression.from_file(tmp_path / "a.npz", random_features=8)
    assert p.source.endswith("a.npz") and p.to_config()["kind"] == "data"
    with pytest.raises(ConfigError, match="path"):
        load_features(tmp_path / "missing.npz")
    with pytest.raises(ConfigError, match="y"):
        load_features(_npz_without_y(tmp_path, X))
    (tmp_path / "e.csv").write_text("1,2\n")
    with pytest.raises(ConfigError, match="path"):
        load_features(tmp_path / "e.csv")


def _npz_without_y(tmp_path, X):
    np.savez(tmp_path / "noy.npz", X=X)
    return tmp_path / "noy.npz"


def test_bad_input():
    X, y = _toy(n=20, p=3)
    with pytest.raises(ConfigError, match="y"):
        DataRegression.from_arrays(X, y[:-1])
    with pytest.raises(ConfigError, match="X"):
        DataRegression.from_arrays(X[:, :, None], y)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ConfigError, match="X"):
        DataRegression.from_arrays(Xn, y)
    with pytest.raises(ConfigError, match="noise_model"):
        DataRegression.from_arrays(X, y, noise_model="student")
    with pytest.raises(ConfigError, match="random_features"):
        DataRegression.from_arrays(X, y, random_features=0)
    with pytest.raises(ConfigError, match="activation"):
        DataRegression.from_arrays(X, y, random_features=4, activation="gelu")


def test_fits_recover_known_laws():
    rng = np.random.default_rng(1)
    g = 0.7 * rng.standard_normal(50_000)
    assert fit_gaussian(g).std == pytest.approx(0.7, rel=0.01)
    comp = rng.choice(3, 60_000, p=[0.4, 0.25, 0.35])
    means, stds = np.array([-0.7, 0.95, 0.06]), np.array([0.18, 0.17, 0.2])
    x = means[comp] + stds[comp] * rng.standard_normal(comp.size)
    fit = fit_gaussian_mixture(x, 3, seed=0)
    order = np.argsort(means)  # the fit returns components sorted by mean
    assert np.allclose(fit.weights, np.array([0.4, 0.25, 0.35])[order], atol=0.02)
    assert np.allclose(fit.means, means[order], atol=0.03)
    assert np.allclose(fit.stds, stds[order], atol=0.03)
    with pytest.raises(ConfigError, match="n_components"):
        fit_gaussian_mixture(x, 0)
