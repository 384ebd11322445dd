"""MatrixRegression against independent computations, and matrix optimizers run by the engine.

References: the dense formula (1/2) tr(Delta^T K Delta), Monte Carlo averages of the per-sample
loss, JAX autodiff of the loss, the exact expected SGD recursion (docs/theory/muon.md section 2.1,
Isserlis), and the exact rotation equivariance polar(Q G) = Q polar(G) of SignSVD.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optdyn import simulate
from optdyn.errors import ConfigError
from optdyn.optimizers import SGD, Muon, SignSGD, SignSVD
from optdyn.problems import MatrixRegression, spectra
from optdyn.problems.matrix_regression import (
    PowerLawTarget,
    RandomTarget,
    ZeroTarget,
    matrix_from_config,
)
from optdyn.problems.spectra import haar_orthogonal


def _problem(d=10, m=7, **kw):
    base = dict(eigenvalues=spectra.power_law(d, 0.7), target=PowerLawTarget(0.6), sigma=0.3,
                basis_seed=2, seed=4)
    base.update(kw)
    return MatrixRegression(d, m, **base)


# -------------------------------------------------------------------------- exact quantities
@pytest.mark.parametrize("normalize", [False, True])
def test_risk_rho_and_loss_against_dense_formula_and_monte_carlo(normalize):
    d, m, sigma = 10, 7, 0.3
    p = _problem(d, m, sigma=sigma, normalize_by_m=normalize)
    q = haar_orthogonal(d, 2)
    k = (q * p.eigenvalues) @ q.T
    rng = np.random.default_rng(0)
    w = p.target + 0.5 * rng.standard_normal((d, m))
    delta = w - p.target
    scale = 1 / m if normalize else 1.0
    dense = 0.5 * scale * np.trace(delta.T @ k @ delta)
    assert np.isclose(p.risk(w), dense, rtol=1e-12)
    assert np.isclose(0.5 * scale * p.eigenvalues @ p.rho(w), dense, rtol=1e-12)
    np.testing.assert_allclose(p.rho(w), np.sum((q.T @ delta) ** 2, axis=1), rtol=1e-12)
    assert np.isclose(p.loss(w), dense + 0.5 * sigma**2 * (1 if normalize else m))
    # batched, and the engine's float64 risk
    assert np.allclose(p.risk(np.stack([w, p.target])), [dense, 0.0])
    assert np.isclose(float(p.risk_jax(p.engine_arrays(jnp.float64), jnp.asarray(w))), dense,
                      rtol=1e-12)
    # Monte Carlo: mean per-sample loss (1/2)||W^T x - y||^2 (/ m) over fresh samples
    x, y = p.sample(jax.random.key(1), 100_000, jnp.float64)
    x, y = np.asarray(x), np.asarray(y)
    per = 0.5 * scale * np.sum((x @ w - y) ** 2, axis=1)
    se = per.std() / np.sqrt(per.size)
    assert abs(per.mean() - p.loss(w)) < 4 * se
    # the inputs have covariance K
    assert np.abs(x.T @ x / x.shape[0] - k).max() < 0.03


def test_power_law_target_energies_and_rotation():
    d, m, beta = 12, 20, 0.8
    eig = spectra.power_law(d, 1.0)
    haar = MatrixRegression(d, m, eigenvalues=eig, target=PowerLawTarget(beta, scale=2.0),
                            basis_seed=7, seed=3)
    axis = MatrixRegression(d, m, eigenvalues=eig, target=PowerLawTarget(beta, scale=2.0),
                            basis="identity", seed=3)
    j = np.arange(1, d + 1)
    np.testing.assert_allclose(haar.rho0, 4.0 * j ** (-2 * beta), rtol=1e-12)
    np.testing.assert_allclose(axis.rho0, 4.0 * j ** (-2 * beta), rtol=1e-12)
    assert axis.basis is None and haar.basis is not None
    # same output directions: the Haar problem is the axis-aligned one rotated by Q
    np.testing.assert_allclose(haar.target, haar.basis @ axis.target, atol=1e-12)
    assert np.isclose(haar.initial_risk, 0.5 * np.sum(eig * 4.0 * j ** (-2 * beta)))
    # orthogonal output directions make Q^T W* W*^T Q exactly diagonal
    orth = MatrixRegression(d, m, eigenvalues=eig, target=PowerLawTarget(beta, directions=
                            "orthogonal"))
    c = orth.initial_error_modes
    gram = c @ c.T
    np.testing.assert_allclose(gram, np.diag(j ** (-2.0 * beta)), atol=1e-12)
    # builders from their configs, and the recorded config
    for b in (PowerLawTarget(0.5, scale=3.0), RandomTarget(norm=2.0), ZeroTarget()):
        assert matrix_from_config(b.to_config(), "target") == b
    r = MatrixRegression(d, m, target={"kind": "random", "norm": 2.0}, w0={"kind": "zeros"})
    assert np.isclose(np.linalg.norm(r.target), 2.0)
    cfg = r.to_config()
    assert cfg["target"] == {"kind": "random", "norm": 2.0} and cfg["basis"] == "haar"
    assert r.param_shape == (d, m)


@pytest.mark.parametrize("normalize", [False, True])
def test_gradient_against_autodiff(normalize):
    d, m, b = 9, 5, 6
    p = _problem(d, m, normalize_by_m=normalize)
    arrays = p.engine_arrays(jnp.float64)
    x, eps = p.draw(arrays, jax.random.key(3), b, jnp.float64)
    x = p.rotate(arrays, x)
    w = jnp.asarray(np.random.default_rng(1).standard_normal((d, m)))
    y = x @ arrays["w_star"] + eps

    def loss(w):
        return 0.5 * jnp.mean(jnp.sum((x @ w - y) ** 2, axis=1)) / (m if normalize else 1)

    want = np.asarray(jax.grad(loss)(w))
    np.testing.assert_allclose(p.gradient(arrays, w, (x, eps), False), want, atol=1e-12)
    factored = p.gradient(arrays, w, (x, eps), True)
    np.testing.assert_allclose(factored.dense(), want, atol=1e-12)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        (dict(d=0, m=3), "d"),
        (dict(d=3, m=2.5), "m"),
        (dict(d=3, m=2, eigenvalues=[1.0, 2.0]), "eigenvalues"),
        (dict(d=2, m=2, eigenvalues=[1.0, -1.0]), "eigenvalues"),
        (dict(d=2, m=2, basis="random"), "basis"),
        (dict(d=2, m=2, basis=[[1.0, 1.0], [0.0, 1.0]]), "basis"),
        (dict(d=2, m=2, basis=np.eye(3)), "basis"),
        (dict(d=2, m=2, sigma=-0.1), "sigma"),
        (dict(d=2, m=2, sigma=float("nan")), "sigma"),
        (dict(d=2, m=2, normalize_by_m=1), "normalize_by_m"),
        (dict(d=2, m=2, target=np.zeros((2, 3))), "target"),
        (dict(d=2, m=2, w0=np.full((2, 2), np.inf)), "w0"),
        (dict(d=2, m=2, target={"kind": "powr_law", "beta": 1.0}), "target.kind"),
        (dict(d=2, m=2, target={"kind": "power_law", "betta": 1.0}), "target.betta"),
        (dict(d=3, m=2, target=PowerLawTarget(1.0, directions="orthogonal")), "directions"),
    ],
)
def test_bad_input_names_the_field(kw, field):
    with pytest.raises(ConfigError) as e:
        MatrixRegression(**kw)
    assert e.value.field == field


def test_bad_builder_input():
    with pytest.raises(ConfigError, match="beta"):
        PowerLawTarget(float("inf"))
    with pytest.raises(ConfigError, match="directions"):
        PowerLawTarget(1.0, directions="sorted")
    with pytest.raises(ConfigError, match="norm"):
        RandomTarget(-1.0)


# ------------------------------------------------------------------------------ simulations
def exact_sgd_matrix(lam, rho0, lr, batch, m_sigma2, ckpts):
    """Exact expected mode energies of mini-batch SGD on matrix least squares
    (docs/theory/muon.md section 2.1):

    rho_j <- rho_j (1 - 2 lr l_j + lr^2 (B+1)/B l_j^2) + lr^2 l_j (sum_i l_i rho_i + m s^2) / B
    """
    rho, out, k = rho0.copy(), [], 0
    for c in ckpts:
        while k < c:
            two_r = lam @ rho + m_sigma2
            rho = rho * (1 - 2 * lr * lam + lr**2 * (batch + 1) / batch * lam**2) + (
                lr**2 * lam * two_r / batch)
            k += 1
        out.append(0.5 * lam @ rho)
    return np.asarray(out)


def test_sgd_on_matrix_regression_matches_exact_recursion():
    d, m, b, lr, sigma = 12, 10, 2, 0.15, 0.2
    p = MatrixRegression(d, m, eigenvalues=spectra.power_law(d, 0.5), target=PowerLawTarget(0.3),
                         sigma=sigma, basis_seed=1)
    ds = simulate.run(p, SGD(lr, batch_size=b), 300, seeds=200, dtype="float64",
                      points_per_decade=3)
    exact = exact_sgd_matrix(p.eigenvalues, p.rho0, lr, b, m * sigma**2, ds.step.values)
    risk = ds.risk.values
    assert np.allclose(risk[:, 0], p.initial_risk)
    mean, se = risk.mean(0), risk.std(0, ddof=1) / np.sqrt(risk.shape[0])
    for i in range(1, len(exact)):
        assert abs(mean[i] - exact[i]) < 3.5 * se[i], (i, mean[i], exact[i], se[i])
    assert exact[-1] < 0.3 * exact[0]
    assert np.isclose(float(ds.loss.values[0, -1] - risk[0, -1]), 0.5 * m * sigma**2)


@pytest.fixture(scope="module")
def rotated_runs():
    """SignSVD (QR path) and SignSGD on a Haar problem and on the same problem axis-aligned.

    Same spectrum, same target coefficients and output directions, same seeds: the Haar inputs
    are the axis-aligned ones rotated, x_haar = Q x_axis, W*_haar = Q W*_axis. (The axis-aligned
    problem gives its identity basis as a matrix so both share one compiled engine; the
    ``basis=None`` fast path is checked by the SGD recursion test.)
    """
    d, m = 16, 24
    kw = dict(eigenvalues=spectra.power_law(d, 0.75), target=PowerLawTarget(0.5), sigma=0.1)
    haar = MatrixRegression(d, m, basis="haar", basis_seed=5, **kw)
    axis = MatrixRegression(d, m, basis=np.eye(d), **kw)
    opts = [SignSVD(0.02, batch_size=4, method="qr"), SignSGD(0.003, batch_size=4)]
    out = {name: simulate.run(p, opts, 200, seeds=3, dtype="float64", return_params=True)
           for name, p in (("haar", haar), ("axis", axis))}
    return haar, axis, out


def test_signsvd_is_rotation_equivariant_signsgd_is_not(rotated_runs):
    haar, axis, out = rotated_runs
    rh, ra = out["haar"].risk.values, out["axis"].risk.values  # (config, seed, step)
    # SignSVD: polar(Q G) = Q polar(G), so W_haar = Q W_axis along the whole run
    np.testing.assert_allclose(rh[0], ra[0], rtol=1e-10)
    wh = out["haar"].theta_final.values[0]
    wa = out["axis"].theta_final.values[0]
    np.testing.assert_allclose(wh, np.einsum("ij,sjk->sik", haar.basis, wa), atol=1e-10)
    # entrywise sign is not: axis-aligned SignSGD is diagonally preconditioned, and differs
    assert np.abs(rh[1, :, -1] / ra[1, :, -1] - 1).max() > 0.1


def test_sign_methods_decrease_risk(rotated_runs):
    haar, axis, out = rotated_runs
    for name, p in (("haar", haar), ("axis", axis)):
        ds = out[name]
        r = ds.risk.values
        assert not ds.diverged.values.any()
        assert np.all(r[..., -1] < 0.05 * r[..., 0])
        # the engine's last checkpoint is the problem's own float64 risk of the returned W
        np.testing.assert_allclose(r[..., -1], p.risk(ds.theta_final.values), rtol=1e-10)


def test_float32_signsvd_and_bf16_muon_decrease_risk():
    d, m = 16, 24
    p = MatrixRegression.power_law(d, m, 0.75, 0.5, sigma=0.1, basis_seed=5)
    opts = [SignSVD(0.02, batch_size=4), Muon(0.02, batch_size=4)]  # Muon: bf16 NS5, torch
    ds = simulate.run(p, opts, 200, seeds=2, return_params=True)
    assert ds.attrs["dtype"] == "float32"
    r = ds.risk.values
    assert not ds.diverged.values.any()
    assert np.all(r[..., -1] < 0.2 * r[..., 0])
    np.testing.assert_allclose(r[..., -1], p.risk(ds.theta_final.values), rtol=1e-6)
