"""The one error metric between a simulation and a theory, with its diverged-seed policy."""

import numpy as np
import pytest
import xarray as xr

from optdyn.analysis.compare import diverged_fraction, mean_relative_error, relative_error


def _sim(risk: np.ndarray) -> xr.Dataset:
    return xr.Dataset({"risk": (("config", "seed", "step"), risk)},
                      coords={"step": np.arange(risk.shape[-1])})


def test_relative_error_closed_form_and_diverged_seed_policy():
    th = xr.Dataset({"risk": (("config", "step"), np.ones((1, 4)))},
                    coords={"step": np.arange(4)})
    r = np.array([[[1.0, 1.1, 1.2, 1.3], [1.0, 1.3, 1.2, np.nan]]])
    # seed means 1.2, 1.2, 1.3 (the nan seed left out) -> errors .2, .2, .3
    assert mean_relative_error(_sim(r), th)[0] == pytest.approx(0.7 / 3)
    assert relative_error(_sim(r), th, reduce="max")[0] == pytest.approx(0.3)
    assert diverged_fraction(_sim(r))[0] == pytest.approx(0.5)
    all_bad = np.full((1, 2, 4), np.nan)
    assert np.isnan(mean_relative_error(_sim(all_bad), th)[0])


def test_relative_error_interpolates_theory_on_other_grid():
    th = xr.Dataset({"risk": ("step", np.array([1.0, 2.0, 3.0]))}, coords={"step": [0, 2, 4]})
    sim = _sim(np.array([[[1.0, 1.5, 2.0, 2.5, 3.0]]]))
    assert mean_relative_error(sim, th)[0] == pytest.approx(0.0, abs=1e-12)
