"""The SignSGD/SignSVD phase diagram, `optdyn phases`, and acceptance A5-A7
(docs/theory/muon.md section 4)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from optdyn import cli, simulate, theory
from optdyn.analysis import phases
from optdyn.analysis.fits import slope
from optdyn.analysis.muon import isotropic_match
from optdyn.analysis.phases import (
    _labels,
    best_rates,
    label_phases,
    lr_grid,
    phase_diagram,
    spot_check,
)
from optdyn.cli.phases import parse_grid
from optdyn.errors import ConfigError
from optdyn.optimizers import SignSGD, SignSVD
from optdyn.problems import MatrixRegression


def test_labels_from_signs():
    lr = np.zeros((2, 2, 2, 2))
    lr[0, 0] = 1.0  # SignSVD wins everywhere
    lr[0, 1] = -1.0  # SignSGD everywhere
    lr[1, 0] = [[1.0, -1.0], [0.5, 0.5]]  # mixed: trade-off
    lr[1, 1] = [[1.0, 0.01], [0.5, 0.5]]  # a tie is ignored
    lab = _labels(lr, tie=0.02)
    np.testing.assert_array_equal(lab, [[1, -1], [0, 1]])
    lr[1, 1, 0, 0] = np.nan
    assert np.isnan(_labels(lr, 0.02)[1, 1])


def test_best_rates_is_the_minimum_over_the_grid_and_interior():
    p = MatrixRegression.power_law(32, 64, 1.0, 0.5, sigma=0.3)
    hs = [100, 1000]
    for meth, cls in (("signsvd", SignSVD), ("signsgd", SignSGD)):
        r, g = best_rates(p, meth, 4, hs)
        grid = lr_grid(p, meth, 4, max(hs))
        assert grid[0] < g.min() and g.max() < grid[-1]
        # an independent run at the chosen rate and at 2x either side is no better
        for t, gt, rt in zip(hs, g, r, strict=True):
            ds = theory.run(p, [cls(gt * f, batch_size=4) for f in (0.5, 1.0, 2.0)], t)
            fin = ds.risk.isel(step=-1).values
            assert fin[1] == pytest.approx(rt, rel=1e-6)
            assert fin[1] <= fin.min() * (1 + 1e-9)


def test_phase_diagram_dataset():
    ds = phase_diagram([0.3, 1.5], [0.1, 1.0], d=32, batch_sizes=(1, 8), horizons=(100, 1000),
                       sigma=0.3, progress=False)
    assert ds.risk.dims == ("optimizer", "alpha", "beta", "batch_size", "horizon")
    assert np.isnan(ds.label.sel(alpha=0.3, beta=0.1))  # 2 alpha + 2 beta < 1
    assert set(np.unique(ds.label.values[np.isfinite(ds.label.values)])) <= {-1.0, 0.0, 1.0}
    assert not ds.edge.values.any()
    assert ds.attrs["m"] == 64 and "alpha = 1" in ds.attrs["candidate_lines"]
    # steep spectrum, flat target: SignSVD's square-root preconditioning wins at every (B, T)
    assert ds.label.sel(alpha=1.5, beta=0.1) == 1
    with pytest.raises(ConfigError):
        phase_diagram([1.0], [1.0], d=32, batch_sizes=(64,))
    with pytest.raises(ConfigError, match="256"):
        spot_check(ds, [(1.5, 0.1)], batch_size=8, horizon=100)


def test_simulated_diagram_resumes_from_its_store_and_relabels(tmp_path):
    from optdyn import sweep

    store = tmp_path / "ph"
    kw = dict(d=16, batch_sizes=(2,), horizons=(30, 300), sigma=0.0, basis="identity",
              engine="simulation", seeds=1, lrs_per_decade=2, store=store, progress=False)
    ds = phase_diagram([1.0, 2.0], [0.25], **kw)
    st = sweep.status(store)
    assert (st["points"], st["points_done"]) == (4, 4) and ds.attrs["kind"] == "simulation"
    assert ds.done.values.all() and np.isfinite(ds.risk.values).all()
    # the simulated best risk is the seed-mean minimum over the same rate grid
    p = MatrixRegression.power_law(16, 32, 2.0, 0.25, sigma=0.0, basis="identity",
                                   basis_seed=0, seed=0)
    grid = lr_grid(p, "signsgd", 2, 300, 2)
    sim = simulate.run(p, [SignSGD(float(g), batch_size=2) for g in grid], 300, seeds=1,
                       points_per_decade=20, progress=False)
    want = float(sim.risk.sel(step=300).min())
    got = float(ds.risk.sel(optimizer="signsgd", alpha=2.0, beta=0.25, batch_size=2,
                            horizon=300))
    assert got == pytest.approx(want, rel=1e-6)
    # a second call resumes: no recomputation, the same numbers
    again = phase_diagram([1.0, 2.0], [0.25], **kw)
    assert set(sweep.Store(store).computed().values()) == {1}
    np.testing.assert_array_equal(again.risk.values, ds.risk.values)
    with pytest.raises(ConfigError, match="another spec"):
        phase_diagram([1.0, 2.0], [0.25], **{**kw, "sigma": 0.1})
    # the former checkpoint argument names the same store (warns once)
    with pytest.warns(FutureWarning, match="store=FOLDER"):
        old = phase_diagram([1.0, 2.0], [0.25], **{**kw, "store": None,
                                                   "checkpoint": tmp_path / "ph.nc"})
    np.testing.assert_array_equal(old.risk.values, ds.risk.values)
    # relabelling over a subset of the (B, T) set follows the signs there
    sub = label_phases(ds, horizons=[300])
    lr300 = ds.log_ratio.sel(horizon=300, batch_size=2).values
    np.testing.assert_array_equal(sub.values[:, 0], np.sign(lr300[:, 0]))
    with pytest.raises(ConfigError, match="grid"):
        label_phases(ds, horizons=[1000])
    with pytest.raises(ConfigError):
        phase_diagram([1.0], [1.0], d=16, engine="ode")


def test_cli_phases(tmp_path, capsys):
    out = tmp_path / "ph"
    rc = cli.main(["phases", "--alphas", "0.75,1.5", "--betas", "0.25,1", "--d", "24",
                   "--batch-sizes", "1,8", "--horizons", "100,1000", "--sigma", "0.1",
                   "--basis", "identity", "--out", str(out), "--no-progress"])
    assert rc == 0
    for name in ("phases.nc", "phases.png", "phases.md"):
        assert (out / name).stat().st_size > 0
    text = capsys.readouterr().out
    assert "Label counts" in text and "basis=identity" in text and "Warning" in text
    assert xr.open_dataset(out / "phases.nc").attrs["basis"] == "identity"
    assert cli.main(["phases", "--alphas", "a,b", "--out", str(out)]) == 2
    sim = ["phases", "--alphas", "2", "--betas", "0.5", "--d", "8", "--batch-sizes", "1",
           "--horizons", "10,30", "--sigma", "0", "--engine", "simulation", "--seeds", "1",
           "--lrs-per-decade", "1", "--out", str(tmp_path / "sim"), "--no-progress"]
    capsys.readouterr()
    assert cli.main(sim) == 0
    first = xr.load_dataset(tmp_path / "sim" / "phases.nc")
    assert first.attrs["engine"] == "simulation" and "Warning" not in capsys.readouterr().out
    assert cli.main(sim) == 0  # resumes from its store: the same numbers
    again = xr.load_dataset(tmp_path / "sim" / "phases.nc")
    np.testing.assert_array_equal(again.risk.values, first.risk.values)
    assert parse_grid("0:1:3", "x") == [0.0, 0.5, 1.0]


def test_a5_isotropic_equivalence_up_to_a_constant():
    """K = I: after lr and time rescaling by the template's constants, the curves coincide."""
    r = isotropic_match(d=64, m=128, batch_size=1, steps=600, seeds=2, lr_svd=0.3)
    assert r["tau"] == pytest.approx(np.pi**2 / 4 * (1 - 1 / 64), rel=0.02)
    assert r["gap"] < 0.05
    assert r["gap_unscaled"] > 0.2


@pytest.mark.slow
def test_a6_a7_phase_map_stable_under_doubling_and_lr_slopes():
    kw = dict(batch_sizes=(1, 4, 16, 64), horizons=(100, 1000, 10_000, 100_000), sigma=0.5,
              progress=False)
    alphas, betas = (0.5, 1.0, 1.5, 2.0), (0.1, 0.5, 1.0, 2.0)
    small = phase_diagram(alphas, betas, d=128, **kw)
    big = phase_diagram(alphas, betas, d=256, **kw)
    ok = np.isfinite(small.label.values)
    assert np.mean(small.label.values[ok] == big.label.values[ok]) >= 0.85
    assert len(np.unique(big.label.values[ok])) >= 2
    g = big.best_lr.sel(alpha=1.0, beta=0.5, batch_size=16)
    hs = big.horizon.values
    s_sgd, s_svd = slope(hs, g.sel(optimizer="signsgd").values), slope(hs, g.sel(
        optimizer="signsvd").values)
    assert s_sgd < 0 and s_svd < 0 and abs(s_sgd - s_svd) > 0.05


@pytest.mark.slow
def test_spot_check_by_simulation_agrees_with_theory_in_the_noise_dominated_regime():
    ds = phase_diagram([0.5, 1.5], [0.1, 2.0], d=256, batch_sizes=(16,), horizons=(1000,),
                       sigma=0.5, progress=False)
    sp = spot_check(ds, [(1.5, 0.1), (0.5, 2.0)], batch_size=16, horizon=1000)
    assert bool(sp.agree.all())
    np.testing.assert_allclose(sp.sim_risk.values, sp.theory_risk.values, rtol=0.2)


@pytest.mark.slow
def test_signsgd_wins_long_horizons_with_axis_aligned_noiseless_data():
    """The SignSGD-favoured phase (docs/theory/muon.md section 4, A6): K axis-aligned, sigma = 0,
    alpha = 1.5, beta = 0.25: SignSGD's K^(1/2) preconditioning of every mode beats SignSVD at
    every B from T = 3000 (simulation), while the generic (Haar) basis leaves SignSVD ahead."""
    kw = dict(d=64, batch_sizes=(1, 16), horizons=(3000,), sigma=0.0, engine="simulation",
              seeds=2, lrs_per_decade=2, progress=False)
    ident = phase_diagram([1.5], [0.25], basis="identity", **kw)
    haar = phase_diagram([1.5], [0.25], basis="haar", **kw)
    assert (ident.log_ratio.values < -0.3).all()
    assert (haar.log_ratio.values > 0.3).all()
    assert ident.label.item() == -1 and haar.label.item() == 1


def test_methods_by_class_instance_or_name_and_the_engine_named_as_in_theory_run():
    p = MatrixRegression.power_law(16, 32, 1.0, 0.5, sigma=0.3)
    ref = best_rates(p, "signsvd", 4, [100], engine="ode")
    for spec in (SignSVD, SignSVD(0.1), "SignSVD", "sign_svd"):
        r, g = best_rates(p, spec, 4, [100])
        assert r == pytest.approx(ref[0], rel=1e-12) and g == pytest.approx(ref[1], rel=1e-12)
    import optdyn._core.deprecation as dep

    dep._warned.discard("phases engine='template'")
    with pytest.warns(FutureWarning, match="engine='ode'"):
        old = best_rates(p, "signsvd", 4, [100], engine="template")
    assert old[0] == pytest.approx(ref[0], rel=1e-12)
    with pytest.raises(ConfigError) as e:
        best_rates(p, "adam", 4, [100])
    assert e.value.field == "method"
    with pytest.raises(ConfigError) as e:
        best_rates(p, "signsvd", 4, [100], engine="euler")
    assert e.value.field == "engine"


def test_the_optimizers_tuple_keeps_its_old_name_for_one_release():
    import optdyn._core.deprecation as dep

    dep._warned.discard("optdyn.analysis.phases.METHODS")
    with pytest.warns(FutureWarning, match="OPTIMIZERS"):
        assert phases.METHODS == phases.OPTIMIZERS == ("signsgd", "signsvd")
