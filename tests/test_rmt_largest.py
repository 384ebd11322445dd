"""Largest eigenvalue of the conjugate kernel against simulation (docs/theory/rmt.md section 7).

Section 7.2 is a reconstruction of Benigni & Peche (arXiv 2201.04753): spikes from the row/column
norm fluctuations (strength c2^2 kappa / (2 psi)), the mean spike n1 (E f)^2, and the rectangular
BBP threshold. These tests check it: the outlier within 5% of the predicted position where one
is predicted, and the top eigenvalue within 5% of the right edge where none is.
"""

import math

import numpy as np
import pytest

from optdyn.rmt import ConjugateKernel, entry_law, sample_eigenvalues
from optdyn.rmt.largest import outlier_location


def _sin_he2(t):
    return np.sin(t) + 1.5 * (t * t - 1.0)


def test_marchenko_pastur_outlier_closed_form():
    # theta2 = 0: threshold s^2 > theta1 sqrt(gamma); outlier (s^2 + theta1)(s^2 + gamma theta1)/s^2
    ck = ConjugateKernel("he2", 500, 1000, 2000)
    sp = ck.spikes()
    assert sp.threshold == pytest.approx(ck.theta1 * math.sqrt(ck.gamma), rel=1e-6)
    for s2 in (1.0, 2.0, 5.0):
        pred = (s2 + 1) * (s2 + 0.5) / s2
        assert outlier_location(ck, s2, ck.gamma) == pytest.approx(pred, rel=1e-8)
    assert math.isnan(outlier_location(ck, 0.5, ck.gamma))


@pytest.mark.parametrize("f,shape", [
    ("tanh", (1000, 1000, 2000)),
    pytest.param("sin", (1000, 1500, 2000), marks=pytest.mark.slow)])
@pytest.mark.parametrize("entries", ["gaussian", "rademacher"])
def test_no_spike_top_eigenvalue_at_the_edge(f, shape, entries):
    ck = ConjugateKernel(f, *shape)
    sp = ck.spikes(entry_law(entries).kurtosis, entry_law(entries).kurtosis)
    assert sp.n_outliers == 0  # odd f: c2 = 0
    ev = sample_eigenvalues(f, *shape, seed=2, w_entries=entries, x_entries=entries)
    assert ev[-1] == pytest.approx(ck.right_edge, rel=0.05)


@pytest.mark.parametrize("p,outlier", [(1.0, False), (0.05, True), (0.02, True)])
def test_centred_relu_with_sparse_weights_crosses_the_transition(p, outlier):
    shape = (500, 1000, 2000)
    ck = ConjugateKernel("relu_centred", *shape)
    sp = ck.spikes(w_kurtosis=1.0 / p, x_kurtosis=3.0)
    assert (sp.n_outliers == 1) is outlier
    ev = sample_eigenvalues("relu_centred", *shape, seed=1, w_entries=entry_law(f"sparse:{p}"))
    assert ev[-1] == pytest.approx(sp.largest, rel=0.05)
    if outlier:  # separated from the bulk, and the second eigenvalue sits at the edge
        assert ev[-1] > 1.05 * ck.right_edge
        assert ev[-2] == pytest.approx(ck.right_edge, rel=0.05)


@pytest.mark.parametrize("w,x,n_out", [("gaussian", "rademacher", 1), ("rademacher", "gaussian", 1),
                                       ("rademacher", "rademacher", 0)])
def test_non_odd_activation_gaussian_against_rademacher(w, x, n_out):
    shape = (600, 1500, 3000)
    ck = ConjugateKernel(_sin_he2, *shape)
    sp = ck.spikes(entry_law(w).kurtosis, entry_law(x).kurtosis)
    assert sp.n_outliers == n_out
    ev = sample_eigenvalues(_sin_he2, *shape, seed=0, w_entries=w, x_entries=x)
    assert ev[-1] == pytest.approx(sp.largest, rel=0.05)
    if n_out == 0:
        assert ev[-1] < 1.03 * ck.right_edge
    else:
        assert ev[-2] < 1.03 * ck.right_edge < 1.3 * ck.right_edge < ev[-1]


@pytest.mark.slow
def test_subcritical_second_hermite_gives_no_outlier():
    f = lambda t: np.sin(t) + 0.3 * (t * t - 1.0)  # noqa: E731
    shape = (600, 1500, 3000)
    ck = ConjugateKernel(f, *shape)
    sp = ck.spikes()
    assert sp.n_outliers == 0 and max(sp.s_w2, sp.s_x2) < sp.threshold
    ev = sample_eigenvalues(f, *shape, seed=0)
    assert ev[-1] == pytest.approx(ck.right_edge, rel=0.05)


@pytest.mark.parametrize("n1", [1000, pytest.param(2000, marks=pytest.mark.slow)])
def test_non_centred_mean_spike(n1):
    ck = ConjugateKernel("relu", 1000, n1, 2 * n1 if n1 == 1000 else 3000)
    sp = ck.spikes()
    assert sp.mean2 == pytest.approx(n1 / (2 * math.pi), rel=1e-12)  # n1 (E f)^2
    ev = sample_eigenvalues("relu", ck.n0, ck.n1, ck.m, seed=4)
    assert ev[-1] == pytest.approx(sp.largest, rel=0.02)
    assert ev[-1] == pytest.approx(n1 / (2 * math.pi), rel=0.02)
    assert ev[-2] == pytest.approx(ck.right_edge, rel=0.05)


@pytest.mark.slow
def test_two_equal_spikes_gaussian_entries():
    # both W and X Gaussian: two spikes of equal strength. At n1 = 1500 the pair is split by
    # about +-7% around the prediction (finite-size interaction of degenerate spikes); their mean
    # is checked, and the split is what the figure rmt-largest-eigenvalue shows.
    shape = (600, 1500, 3000)
    ck = ConjugateKernel(_sin_he2, *shape)
    sp = ck.spikes()
    assert sp.n_outliers == 2
    ev = sample_eigenvalues(_sin_he2, *shape, seed=0)
    assert ev[-3] < 1.05 * ck.right_edge < ev[-2]
    assert np.mean(ev[-2:]) == pytest.approx(sp.largest, rel=0.05)
