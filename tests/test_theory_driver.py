"""The one driver: every deterministic curve comes from theory.run and one result builder."""

import json

import numpy as np
import pytest

from optdyn import noise, theory
from optdyn.analysis import adam, clipping, signsgd
from optdyn.errors import ConfigError
from optdyn.optimizers import Adam, SignSGD, SignSVD
from optdyn.problems import LinearRegression, MatrixRegression, spectra
from optdyn.theory.laws import ClippingPolicy, ConstantEffectiveRate, law_for

DRIVER_VARS = ("risk", "diverged", "diverged_step", "limit_risk", "critical_lr", "n_substeps")


@pytest.fixture(scope="module")
def lin():
    d = 100
    return LinearRegression(eigenvalues=spectra.power_law(d, 1.0), theta_star=np.ones(d) /
                            np.sqrt(d), theta0=np.zeros(d), noise=noise.Gaussian(0.5))


def _is_driver_result(ds, method):
    for v in DRIVER_VARS:
        assert v in ds, v
    assert ds.attrs["kind"] == "theory" and ds.attrs["method"] == method
    assert json.loads(ds.attrs["regime"])
    assert json.loads(ds.attrs["config"])["method"] == method
    assert not bool(ds["diverged"].any())


def test_paper_helpers_return_driver_results(lin):
    _is_driver_result(clipping.schedule(lin, 0.5 / lin.trace, 300), "ode")
    _is_driver_result(clipping.schedule(lin, 0.5 / lin.trace, 300, clipping.Heuristic(1.5)),
                      "ode")
    _is_driver_result(signsgd.constant_effective_rate(lin, 2e-3, 300), "ode")
    _is_driver_result(adam.run(lin, Adam(2e-3, b1=0.0, b2=0.0, eps=0.0), 300), "conjecture")
    p = MatrixRegression.power_law(16, 32, 1.0, 0.5, sigma=0.5)
    mf = theory.run(p, [SignSGD(1e-3), SignSVD(1e-2, batch_size=4, method="qr")], 50,
                    "mean-field", n_mc=2)
    _is_driver_result(mf, "mean-field")
    assert mf["rho"].dims == ("config", "step", "mode")
    assert set(json.loads(mf.attrs["regime"])) == {"exact", "mc"}


def test_policies_are_keyed_laws_and_group_with_configs(lin):
    pols = [ClippingPolicy(0.5 / lin.trace, clipping.Heuristic(k)) for k in (0.5, 1.0, 2.0)]
    assert law_for(pols[0], lin).name == "clipping_policy"
    ds = theory.run(lin, pols, 200)
    assert ds.sizes["config"] == 3 and list(ds["kappa"].values) == [0.5, 1.0, 2.0]
    # the compensated heuristic with a huge kappa never clips: it is SGD at lr / mu, mu -> 1
    big = theory.run(lin, ClippingPolicy(0.5 / lin.trace, clipping.Heuristic(50.0)), 200)
    sgd = theory.run(lin, clipping.unclipped(0.5 / lin.trace), 200)
    np.testing.assert_allclose(big["risk"].values, sgd["risk"].values, rtol=1e-4)


def test_constant_effective_rate_limit_matches_long_ode(lin):
    pol = ConstantEffectiveRate(1e-3)
    ds = theory.run(lin, pol, 400_000, points_per_decade=4)
    assert float(ds["limit_risk"]) == pytest.approx(float(ds["risk"][-1]), rel=1e-3)


def test_output_grid_and_option_errors(lin):
    ds = theory.run(lin, SignSGD(1e-3), 100, at=np.array([0, 7, 50, 100]))
    assert list(ds["step"].values) == [0, 7, 50, 100]
    with pytest.raises(ConfigError) as e:
        theory.run(lin, SignSGD(1e-3), 100, at=np.array([0, 50, 40, 100]))
    assert e.value.field == "at"
    with pytest.raises(ConfigError) as e:
        theory.run(lin, SignSGD(1e-3), 100, n_mc=3)
    assert e.value.field == "n_mc" and "mean-field" in str(e.value)
    with pytest.raises(ConfigError, match="conjecture"):
        theory.run(lin, Adam(1e-3), 100)


def test_a_kappa_search_reuses_one_compiled_integrator(lin, monkeypatch):
    """Policies that differ only in their rule's numbers (a heuristic's kappa) differ only in
    their tables, so the integrator compiled for the first serves the others (checked on the
    jitted function itself: programs kept on disk are bypassed here)."""
    from optdyn._core import programs
    from optdyn.theory.integrator import _compiled
    from optdyn.theory.laws.clip_policy import ClipPolicyLaw

    monkeypatch.setattr(programs, "programs_dir", lambda: None)
    first = theory.run(lin, ClippingPolicy(0.5 / lin.trace, clipping.Heuristic(0.7)), 300)
    fn = _compiled(ClipPolicyLaw.coeff)
    size = fn._cache_size()
    assert size >= 1
    again = theory.run(lin, ClippingPolicy(0.5 / lin.trace, clipping.Heuristic(1.3)), 300)
    assert fn._cache_size() == size
    assert not np.allclose(again["risk"].values, first["risk"].values)
