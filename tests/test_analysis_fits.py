"""Power-law fits with standard errors."""

import numpy as np
import pytest

from optdyn.analysis.fits import fit_power_law, slope


def test_power_law_fit_recovers_slope_and_se():
    rng = np.random.default_rng(0)
    x = np.geomspace(1, 1e3, 40)
    y = 2 * x ** -0.7 * np.exp(0.05 * rng.standard_normal(40))
    fit = fit_power_law(x, y)
    assert abs(fit.slope + 0.7) < 3 * fit.slope_se + 1e-3
    lx, ly = np.log10(x), np.log10(y)
    assert slope(x, y) == pytest.approx(np.polyfit(lx, ly, 1)[0])
