"""Muon variants against exact SignSVD (acceptance A8): the computation behind ``muon-vs-signsvd``
on a small problem, and the figure itself (slow)."""

import re

import numpy as np
import pytest
import xarray as xr

from optdyn import reproduce
from optdyn.optimizers.polar import ns_singular_value_map
from optdyn.reproduce import muon_practical as mp


@pytest.fixture(scope="module")
def small():
    # d = 16, m = 32, rank-4 gradients; three compiled variants (momentum reuses NS5 bf16's code)
    ds = mp.gap_runs(16, 32, 4, 200, [2e-3, 8e-3], sigma=0.1, seeds=3,
                     variants=("SignSVD", "PE10 fp32", "NS5 bf16", "NS5 bf16 mom"))
    return ds, mp.gap_summary(ds)


def test_polar_express_10_matches_exact_signsvd(small):
    """Ten Polar Express steps in float32 reach the polar factor of a rank-B gradient to about
    1e-6, so the risk curve is SignSVD's (computed by a thin SVD) at every lr and step."""
    ds, summ = small
    mean = ds["risk"].mean("seed")
    rel = np.abs(mean.sel(variant="PE10 fp32") / mean.sel(variant="SignSVD") - 1)
    assert float(rel.max()) < 0.01
    assert float(summ["mean_rel_gap_common"].sel(variant="PE10 fp32")) < 0.005
    assert abs(float(summ["ratio_best"].sel(variant="PE10 fp32")) - 1) < 0.01
    # and the runs did learn: the final risk is well below the initial one
    r0 = float(mean.sel(variant="SignSVD").isel(step=0, lr=0))
    assert float(summ["r_common"].sel(variant="SignSVD")) < 0.5 * r0


def test_ns5_gap_is_finite_and_slower_in_the_transient(small):
    """Keller Jordan's NS5 maps the dominant singular value (s / ||G||_F near 1) to about 0.7
    (p(1) = 0.701; docs/theory/muon.md section 5), so at the same lr its transient is slower than
    SignSVD's: the risk
    ratio rises above 1. bf16 rounding and momentum keep the gap finite."""
    ds, summ = small
    assert 0.68 < ns_singular_value_map(1.0, 5, "keller") < 0.75
    for v in ("NS5 bf16", "NS5 bf16 mom"):
        for k in ("ratio_common", "ratio_best", "r_common", "r_best"):
            val = float(summ[k].sel(variant=v))
            assert np.isfinite(val) and val > 0
        assert not np.isinf(ds["risk"].sel(variant=v)).any()
    assert float(summ["max_ratio_common"].sel(variant="NS5 bf16")) > 1.1
    assert float(summ["ratio_common"].sel(variant="SignSVD")) == 1.0
    curve = summ["curve_common"].sel(variant="NS5 bf16").values[1:]
    np.testing.assert_allclose(curve.max(), float(summ["max_ratio_common"].sel(
        variant="NS5 bf16")))


def test_gradient_spectra_rank_and_normalisation(small):
    ds, summ = small
    pb = mp.problem(16, 32, sigma=0.1)
    sp = mp.gradient_spectra(pb, ds["w_signsvd"].isel(lr=-1).values, 4, draws=6, warmup=30)
    assert list(sp) == ["G at W0", "U at W0", "G at W", "U at W"]
    assert sp["G at W"].size == 6 * 4 and sp["U at W"].size == 6 * 16
    # each draw's singular values have unit sum of squares
    np.testing.assert_allclose((sp["G at W"].reshape(6, 4) ** 2).sum(1), 1.0, rtol=1e-10)
    # the momentum input averages many batches: it has rank > B, unlike G ...
    assert np.all(sp["U at W"].reshape(6, 16)[:, 4] > 1e-6)
    # ... and at W0 it is close to K (W0 - W*), singular values ~ j^-2.5 here: far smaller tail
    # than at the noise-dominated end of training
    assert np.median(sp["U at W0"]) < 0.5 * np.median(sp["U at W"])


def test_gap_runs_needs_the_reference():
    with pytest.raises(ValueError, match="SignSVD"):
        mp.gap_runs(4, 4, 2, 2, [1e-3], variants=("NS5 fp32",))
    with pytest.raises(KeyError):
        mp.make_optimizer("NS7", 1e-3, 2)


@pytest.mark.slow
def test_muon_vs_signsvd_figure(tmp_path):
    files = reproduce.run("muon-vs-signsvd", tmp_path)
    assert {f.name for f in files} == {"muon-vs-signsvd.png", "muon-vs-signsvd.nc",
                                       "muon-vs-signsvd.md"}
    ds = xr.open_dataset(tmp_path / "muon-vs-signsvd.nc")
    assert float(ds["mean_rel_gap_common"].sel(variant="PE10 fp32").max()) < 0.01
    assert np.all(np.isfinite(ds["ratio_best"].values))
    cap = (tmp_path / "muon-vs-signsvd.md").read_text()
    assert len(re.findall(r"^\| NS5 bf16 \|", cap, flags=re.M)) == 2
