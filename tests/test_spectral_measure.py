"""Problems given by a spectral measure (optdyn.problems.SpectralMeasure): SGD's theory on atoms
with multiplicities equals it on the expanded problem; the PLRF measure's compressed sums and
binned atoms against the uncompressed ones; the compute-optimal study on the measure; the
phase formulas (docs/theory/plrf.md sections 6-7, docs/theory/plrf_phases.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optdyn import theory
from optdyn._core.errors import ConfigError
from optdyn.analysis.plrf_phases import phase_exponents
from optdyn.noise import Gaussian
from optdyn.optimizers import SGD, SignSGD
from optdyn.problems import LinearRegression, SpectralMeasure, plrf_equivalent
from optdyn.rmt import PLRFSpectrum


@pytest.mark.parametrize("method", ["ode", "exact"])
def test_atoms_with_multiplicities_equal_the_expanded_problem(method):
    lam, n, th = [1.0, 0.3, 0.01], [1, 5, 50], [1.0, 0.5, 0.2]
    full = LinearRegression(eigenvalues=np.repeat(lam, n), theta_star=np.repeat(th, n),
                            noise=Gaussian(0.3))
    atoms = SpectralMeasure(lam, n, np.asarray(n) * np.square(th), Gaussian(0.3))
    opts = [SGD(0.1), SGD(0.4, batch_size=4)]
    a = theory.run(full, opts, 2000, method)
    b = theory.run(atoms, opts, 2000, method)
    np.testing.assert_allclose(b.risk.values, a.risk.values, rtol=1e-12)
    np.testing.assert_allclose(b.critical_lr.values, a.critical_lr.values, rtol=1e-12)
    np.testing.assert_allclose(b.limit_risk.values, a.limit_risk.values, rtol=1e-12)
    assert atoms.d == full.d and math.isclose(atoms.trace, full.trace)


def test_measure_refuses_what_it_cannot_describe():
    m = SpectralMeasure([1.0, 0.5], [1, 2], [1.0, 1.0])
    with pytest.raises(ConfigError, match="optimizer"):
        theory.run(m, SignSGD(0.01), 100)
    with pytest.raises(ConfigError, match="multiplicity"):
        SpectralMeasure([1.0, 0.5], [1, -2], [1.0, 1.0])
    with pytest.raises(ConfigError, match="energy"):
        SpectralMeasure([1.0, 0.5], [1, 2], [1.0])


def test_tail_quadrature_matches_the_full_sums():
    # v = 16000 population terms against 1024 exact ones plus the tail quadrature
    full = PLRFSpectrum(16000, 500, 1.0, 0.5, exact_terms=None)
    comp = PLRFSpectrum(16000, 500, 1.0, 0.5)
    assert comp.j.size < 1200
    xs = full.quantiles(30)
    assert np.abs(comp.cdf(xs) - full.cdf(xs)).max() < 1e-6
    assert abs(comp.capacity_floor / full.capacity_floor - 1) < 1e-6
    e_full, e_comp = full.energy_cdf(xs), comp.energy_cdf(xs)
    assert np.abs(e_comp - e_full).max() < 1e-6 * full.total_energy


def test_binned_atoms_carry_the_counts_energy_and_risk():
    s = PLRFSpectrum(2000, 500, 1.0, 0.5)
    mu, count, energy = s.atoms()
    assert abs(count.sum() - 500) < 1e-6
    assert abs(energy.sum() - s.total_energy) < 1e-9 * s.total_energy
    assert np.all(np.diff(mu) > 0)
    c2, sig2, _ = s._target
    r0 = 0.5 * (float(s._sum(c2)) - sig2)  # (1/2)(||c||^2 - sigma_xi^2), no spectrum needed
    assert abs(0.5 * np.dot(mu, energy) / r0 - 1) < 1e-3


@pytest.mark.slow
def test_curve_converges_in_the_bin_ratio():
    # the quantisation error: bins of ratio 1.02 (the default) against 1.01
    s = PLRFSpectrum(2000, 500, 1.0, 0.5)
    sig2 = 2 * s.capacity_floor
    fine = SpectralMeasure(*s.atoms(1.01), Gaussian(math.sqrt(sig2)))
    coarse = plrf_equivalent(2000, 500, 1.0, 0.5)
    a = theory.run(fine, SGD(0.3), 10**5)
    b = theory.run(coarse, SGD(0.3), 10**5)
    assert np.abs(b.risk.values / a.risk.values - 1).max() < 0.01


def test_phase_formulas():
    assert phase_exponents(1.0, 0.3)[:3] == pytest.approx(("Ia", 1 / 3, 1.6 / 3))
    assert phase_exponents(1.0, 0.75)[:3] == pytest.approx(("II", 0.75 / 1.75, 2.5 / 3.5))
    assert phase_exponents(0.75, 1.0)[:3] == pytest.approx(("III", 0.5, 2 / 3))
    assert phase_exponents(0.4, 0.3).phase == "Ib"
    assert phase_exponents(0.2, 1.0).phase == "Ic"
    assert phase_exponents(0.27, 1.0).phase == "IVa"
    assert phase_exponents(0.4, 1.0).phase == "IVb"
    # eta is continuous across the boundaries of the published phases
    for (a1, b1), (a2, b2) in [((1.0, 0.499), (1.0, 0.501)), ((0.8, 0.799), (0.8, 0.801)),
                               ((0.501, 0.8), (0.499, 0.8)), ((0.501, 0.3), (0.499, 0.3))]:
        assert abs(phase_exponents(a1, b1).eta - phase_exponents(a2, b2).eta) < 0.01
    with pytest.raises(ConfigError, match="beta"):
        phase_exponents(0.2, 0.2)


def test_compute_optimal_on_the_measure_reports_the_phase_prediction():
    from optdyn.analysis.scaling import compute_optimal

    r = compute_optimal(1.0, 0.75, [50, 100, 200], t_max=2048, optimizers=["sgd"],
                        schedules=["constant"], spectrum="equivalent", sgd_method="ode",
                        n_lr=6)
    assert r.attrs["phase"] == "II"
    assert float(r.predicted_slope) == pytest.approx(-2.5 / 3.5)
    assert np.all(np.isfinite(r.loss.values))
    assert np.all(np.diff(r.frontier_loss.values[0, 0][np.isfinite(
        r.frontier_loss.values[0, 0])]) <= 1e-15)
    with pytest.raises(ConfigError, match="optimizers"):
        compute_optimal(1.0, 0.75, [50, 100], optimizers=["sign_sgd"], spectrum="equivalent")
