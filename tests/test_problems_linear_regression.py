import numpy as np
import pytest

from optdyn import noise
from optdyn.errors import ConfigError
from optdyn.problems import LinearRegression, PowerLawCoefficients, RandomVector, spectra


def test_covariance_path_matches_eigen_path():
    k = spectra.toeplitz_covariance(20, rho=0.5, seed=1)
    p = LinearRegression(covariance=k, theta_star=RandomVector(1.0), seed=4)
    np.testing.assert_allclose(p.K, k, atol=1e-12)
    assert np.all(np.diff(p.eigenvalues) <= 0)
    theta = np.random.default_rng(0).standard_normal(20)
    e = theta - p.theta_star
    assert np.isclose(p.risk(theta), 0.5 * e @ k @ e)
    # non-constant diagonal, as the builder promises
    assert np.ptp(np.diag(k)) > 0.5


def test_diagonal_covariance_keeps_identity_basis():
    p = LinearRegression(covariance=np.diag([3.0, 2.0, 1.0]))
    assert p.basis is None
    np.testing.assert_array_equal(p.eigenvalues, [3.0, 2.0, 1.0])


def test_haar_basis_is_orthogonal_and_reproducible():
    a = LinearRegression(eigenvalues=spectra.power_law(15, 1.0), basis="haar", basis_seed=5)
    b = LinearRegression(eigenvalues=spectra.power_law(15, 1.0), basis="haar", basis_seed=5)
    np.testing.assert_allclose(a.basis.T @ a.basis, np.eye(15), atol=1e-12)
    np.testing.assert_array_equal(a.basis, b.basis)
    assert a.to_config()["basis"] == "haar" and a.to_config()["basis_seed"] == 5


def test_power_law_builders():
    lam = spectra.power_law(8, 0.75)
    np.testing.assert_allclose(lam, np.arange(1, 9) ** -1.5)
    p = LinearRegression(eigenvalues=lam, basis="haar", theta_star=PowerLawCoefficients(0.5))
    np.testing.assert_allclose(p.modes(p.theta_star), np.arange(1, 9) ** -0.5, atol=1e-12)
    r = LinearRegression(eigenvalues=lam, theta_star=RandomVector(3.0))
    assert np.isclose(np.linalg.norm(r.theta_star), 3.0)


def test_empirical_covariance():
    x = np.random.default_rng(1).standard_normal((500, 4)) * [1, 2, 3, 4]
    k = spectra.empirical_covariance(x)
    xc = x - x.mean(0)
    np.testing.assert_allclose(k, xc.T @ xc / 500)


def test_loss_adds_half_noise_second_moment():
    p = LinearRegression(eigenvalues=[1.0, 2.0], theta_star=[1.0, 1.0], noise=noise.Gaussian(0.5))
    assert np.isclose(p.loss(np.zeros(2)), 0.5 * 3 + 0.125)
    assert np.isinf(LinearRegression(eigenvalues=[1.0], noise=noise.Cauchy()).loss(np.zeros(1)))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(covariance=[[1.0, 2.0], [2.0, 1.0]]), "covariance"),  # indefinite
        (dict(covariance=[[1.0, 0.5], [0.0, 1.0]]), "covariance"),  # not symmetric
        (dict(covariance=[[1.0, np.nan], [np.nan, 1.0]]), "covariance"),
        (dict(covariance=np.ones(3)), "covariance"),
        (dict(), "covariance"),
        (dict(eigenvalues=[1.0, -1.0]), "eigenvalues"),
        (dict(eigenvalues=[1.0, 1.0], basis=np.ones((2, 2))), "basis"),
        (dict(eigenvalues=[1.0, 1.0], basis="random"), "basis"),
        (dict(eigenvalues=[1.0, 1.0], theta_star=[1.0, 2.0, 3.0]), "theta_star"),
        (dict(eigenvalues=[1.0, 1.0], theta0=[1.0]), "theta0"),
        (dict(eigenvalues=[1.0], noise="gaussian"), "noise"),
        (dict(eigenvalues=[1.0], noise={"law": "gausian", "std": 1.0}), "noise.law"),
    ],
)
def test_bad_problem_input_names_field(kwargs, field):
    with pytest.raises(ConfigError) as e:
        LinearRegression(**kwargs)
    assert e.value.field == field
    assert field in str(e.value)
