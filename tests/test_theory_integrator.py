"""The integrator's building blocks against extended-precision references."""

from math import factorial

import jax.numpy as jnp
import numpy as np

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
