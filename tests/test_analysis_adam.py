"""The conjectured Adam ODE (docs/theory/signsgd.md section 8): reductions and Monte Carlo
factors."""

import numpy as np
import pytest

import optdyn  # noqa: F401  (float64)
from optdyn import noise as N
from optdyn import theory
from optdyn.analysis import adam as A
from optdyn.errors import ConfigError
from optdyn.optimizers import SGD, Adam, SignSGD
from optdyn.problems import LinearRegression, RandomVector, spectra
from optdyn.theory.factors import sign_drift


def test_reduces_to_signsgd_at_zero_betas():
    k = spectra.toeplitz_covariance(60, 0.5, seed=2)
    p = LinearRegression(covariance=k, theta_star=RandomVector(2.0), noise=N.StudentT(3.0, 0.5))
    a = A.run(p, Adam(0.004, b1=0.0, b2=0.0, eps=0.0), 3000)
    s = theory.run(p, SignSGD(0.004), 3000)
    np.testing.assert_allclose(a.risk.values, s.risk.values, rtol=1e-10, atol=0)
    assert a.attrs["method"] == "conjecture"


def test_monte_carlo_estimator_recovers_signsgd_factors():
    # the estimator itself, run at b1 = b2 = 0, reproduces c(R) and the unit variance of sign(g)
    f = A.adam_factors(N.Laplace(0.4), 0.0, 0.0, points=4)
    np.testing.assert_allclose(f["c"], sign_drift(N.Laplace(0.4), f["R"]), rtol=0.03)
    np.testing.assert_allclose(f["s"], 1.0, rtol=0.08)


@pytest.mark.slow
def test_rmsprop_limit_drift():
    # b1 = 0, b2 -> 1: v -> E g^2 = (2R + s^2) K_ii, so c_A -> 1/sqrt(2R + s^2) = (pi/2) c(R)
    f = A.adam_factors(N.Gaussian(0.5), 0.0, 0.995, points=3)
    np.testing.assert_allclose(f["c"] / sign_drift(N.Gaussian(0.5), f["R"]), np.pi / 2,
                               rtol=0.05)


def test_bad_input():
    p = LinearRegression(eigenvalues=np.ones(4), theta_star=RandomVector(1.0))
    with pytest.raises(ConfigError, match="optimizer"):
        A.run(p, SGD(0.1), 10)
    with pytest.raises(ConfigError, match="batch_size"):
        A.run(p, Adam(0.1, batch_size=2), 10)
