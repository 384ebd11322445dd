"""The one integrator against independent references.

Its building blocks (phi_1, psi) against extended-precision series, and whole SGD risk curves
against SciPy's Radau with the analytic Jacobian at tight tolerances: constant rate, a cosine
schedule written out independently, and a stiff spectrum over eight decades."""

from math import factorial

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from optdyn import noise, theory
from optdyn.optimizers import SGD
from optdyn.problems import LinearRegression, RandomVector, spectra
from optdyn.schedules import Cosine
from optdyn.theory.integrator import phi1, psi


def _series(x, first, n=60):
    return sum((-x) ** i / factorial(i + first) for i in range(n))


def test_phi_functions_accurate_everywhere():
    x = np.logspace(-10, 2.5, 3000)
    xl = x.astype(np.longdouble)
    r1 = np.where(x < 1, _series(xl, 1), (1 - np.exp(-xl)) / xl)
    r2 = np.where(x < 1, _series(xl, 2), (xl - 1 + np.exp(-xl)) / xl**2)
    assert np.abs(np.asarray(phi1(jnp.asarray(x))) / r1 - 1).max() < 1e-14
    assert np.abs(np.asarray(psi(jnp.asarray(x))) / r2 - 1).max() < 1e-13
    assert float(phi1(jnp.asarray(0.0))) == 1.0 and float(psi(jnp.asarray(0.0))) == 0.5


def _scipy_sgd(lam, v0, lr_fn, batch, s2, ckpts):
    """The SGD mode ODE by SciPy's Radau with the analytic Jacobian (tight tolerances)."""

    def f(k, v):
        g = lr_fn(k)
        return -2 * g * lam * v + g * g / batch * lam * (lam @ v + s2 / 2)

    def jac(k, v):
        g = lr_fn(k)
        return np.diag(-2 * g * lam) + np.outer(g * g / batch * lam, lam)

    sol = solve_ivp(f, (0, ckpts[-1]), v0, method="Radau", t_eval=ckpts, rtol=1e-11,
                    atol=1e-15, jac=jac)
    assert sol.success
    return lam @ sol.y


@pytest.fixture(scope="module")
def prob200():
    return LinearRegression(eigenvalues=spectra.power_law(200, 0.75), basis="haar",
                            theta_star=RandomVector(10.0), noise=noise.Gaussian(0.3))


@pytest.mark.parametrize("lr", [0.05, 0.3])
def test_ode_against_scipy_d200(prob200, lr):
    p = prob200
    th = theory.run(p, SGD(lr, batch_size=2), 50_000, points_per_decade=8)
    v0 = 0.5 * p.modes(p.theta0 - p.theta_star) ** 2
    ref = _scipy_sgd(p.eigenvalues, v0, lambda k: lr, 2, 0.09, th.step.values.astype(float))
    rel = np.abs(th.risk.values / ref - 1)
    assert rel.max() < 1e-4, rel.max()
    assert th.risk.values[-1] < 0.2 * th.risk.values[0]  # the curve really moved


def test_ode_with_schedule_against_scipy(prob200):
    p = prob200
    sched = Cosine(peak=0.4, total_steps=20_000, final=0.01)
    th = theory.run(p, SGD(sched), 20_000, points_per_decade=8)
    v0 = 0.5 * p.modes(p.theta0 - p.theta_star) ** 2
    # the cosine schedule written out independently of optdyn.schedules
    def lr(k):
        return 0.01 + (0.4 - 0.01) * 0.5 * (1 + np.cos(np.pi * min(k, 20_000) / 20_000))

    ref = _scipy_sgd(p.eigenvalues, v0, lr, 1, 0.09, th.step.values.astype(float))
    assert np.abs(th.risk.values / ref - 1).max() < 1e-4


def test_stiff_spectrum_many_decades():
    # eigenvalues from 1e-6 to 1e2: explicit schemes need h < 1e-2 here; ours takes few steps
    lam = np.logspace(2, -6, 120)
    p = LinearRegression(eigenvalues=lam, theta_star=RandomVector(1.0), noise=noise.Gaussian(0.1))
    lr = 0.5 / p.trace
    th = theory.run(p, SGD(lr), 10**7, points_per_decade=6)
    v0 = 0.5 * (p.theta0 - p.theta_star) ** 2
    ref = _scipy_sgd(lam, v0, lambda k: lr, 1, 0.01, th.step.values.astype(float))
    assert np.abs(th.risk.values / ref - 1).max() < 1e-4
    assert int(th.n_substeps) < 5000
