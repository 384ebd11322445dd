"""Multi-layer conjugate-kernel law (docs/theory/rmt.md section 5, a
reconstruction) against simulation."""

import numpy as np
import pytest

from optdyn.errors import ConfigError
from optdyn.rmt import (
    ConjugateKernel,
    MultiLayerConjugateKernel,
    kolmogorov_distance,
    marchenko_pastur_density,
    sample_multilayer_eigenvalues,
)


def test_one_layer_reproduces_the_quartic():
    ck = ConjugateKernel("tanh", 1000, 1500, 1200)
    ml = MultiLayerConjugateKernel("tanh", 1000, (1500,), 1200)
    x = np.linspace(0.01, ck.upper_bound, 300)
    assert np.abs(ck.density(x) - ml.density(x)).max() < 1e-10
    z = x + 0.1j
    assert np.abs(ck.stieltjes(z) - ml.stieltjes(z)).max() < 1e-10


def test_zero_theta2_layer_is_marchenko_pastur():
    # theta2 = 0 at the last layer: nu_L = theta1 MP whatever came before (b_L = 0 is excluded by
    # the recursion; check the limit b -> 0 with a tiny linear part)
    f = lambda t: (t * t - 1) / np.sqrt(2) + 1e-4 * t  # noqa: E731
    ml = MultiLayerConjugateKernel(f, 800, (1000,), 700)
    x = np.linspace(0.05, 3.5, 200)
    ref = marchenko_pastur_density(x, ml.q[-1], 1000 / 700)
    assert np.abs(ml.density(x) - ref).max() < 1e-3
    with pytest.raises(ConfigError, match="activation"):
        MultiLayerConjugateKernel("he2", 800, (1000, 900), 700).density(np.array([1.0]))


def test_three_layers_of_tanh_against_simulation():
    n0, widths, m = 1200, (1000, 1400, 900), 700
    evs = sample_multilayer_eigenvalues("tanh", n0, widths, m, seed=0)
    laws = {d: MultiLayerConjugateKernel("tanh", n0, widths[:d], m) for d in (2, 3)}
    for depth, law in laws.items():
        assert law.continuous_mass == pytest.approx(1 - law.atom, abs=1e-6)
        ks = kolmogorov_distance(evs[depth - 1], law)
        assert ks <= 0.01, (depth, ks)
        assert evs[depth - 1][-1] == pytest.approx(law.right_edge, rel=0.05)
    # the check can fail: the third layer's spectrum is far from the second layer's law
    assert kolmogorov_distance(evs[2], laws[2]) > 0.05
