"""The claims of arXiv 2603.02069 as measurements, and the best rate along the frontier."""

import numpy as np
import pytest
import xarray as xr

from optdyn.analysis.scaling import _fit_frontier, scaling_laws
from optdyn.analysis.signsgd_claims import signsgd_claims
from optdyn.errors import ConfigError


def test_best_rate_along_a_separable_frontier_has_the_known_exponent():
    """L(d, r) = d^-a + r^-b has d* ~ f^(b/(a+b)), so r* = f/d* ~ f^(a/(a+b)); a best rate
    lr(d, r) = r^-c is then lr* ~ f^(-c a/(a+b)) along the frontier."""
    a, b, c = 0.8, 0.4, 0.5
    ds = np.unique(np.round(np.logspace(1, 4, 61)).astype(int))
    steps = np.unique(np.round(np.logspace(0, 6, 121)).astype(int))
    loss = ds[:, None] ** -a + steps[None, :] ** -b + 0.0
    lr = np.broadcast_to(steps[None, :] ** -c * 1.0, loss.shape)
    fr, fit = _fit_frontier(loss, ds, steps, (1e5, 1e7), lr)
    assert fit[0] == pytest.approx(-a * b / (a + b), abs=0.01)
    assert fit[8] == pytest.approx(-c * a / (a + b), abs=0.03)
    assert np.isfinite(fr["lr_frontier"].values).sum() > 10


def _study(slopes, lr_slopes, wsd_slopes, se=0.005):
    """A fake two-point study: slopes[opt][point] for the constant rate."""
    opts, pts = ["sgd", "sign_sgd"], [(1.0, 0.3), (0.75, 1.0)]
    slope = np.stack([np.stack([slopes[o], wsd_slopes[o]], axis=0) for o in opts])
    slope = np.moveaxis(slope, -1, 0)  # (point, optimizer, schedule)
    lrs = np.moveaxis(np.stack([np.stack([lr_slopes[o]] * 2, axis=0) for o in opts]), -1, 0)
    dims = ("point", "optimizer", "schedule")
    return xr.Dataset(
        {"slope": (dims, slope), "slope_se": (dims, np.full(slope.shape, se)),
         "lr_slope": (dims, lrs), "lr_slope_se": (dims, np.full(slope.shape, se))},
        coords={"point": [0, 1], "optimizer": opts, "schedule": ["constant", "wsd"],
                "alpha": ("point", [a for a, _ in pts]), "beta": ("point", [b for _, b in pts])})


def test_claims_verdicts_follow_the_margins():
    st = _study({"sgd": np.array([-0.53, -0.67]), "sign_sgd": np.array([-0.535, -0.75])},
                {"sgd": np.array([0.0, 0.0]), "sign_sgd": np.array([-0.4, -0.5])},
                {"sgd": np.array([-0.60, -0.68]), "sign_sgd": np.array([-0.536, -0.80])})
    c = signsgd_claims(st)
    assert list(c["phase"].values) == ["Ia", "III"]
    assert list(c["noise_limited"].values) == [False, True]
    # Ia: comparable (0.005 apart) -> holds; III: 0.08 steeper -> holds
    assert list(c["slope_claim_holds"].values) == [1.0, 1.0]
    assert list(c["lr_claim_holds"].values) == [1.0, 1.0]
    # WSD applies at Ia only (alpha > 1/2, 2 beta < 1): SGD gains 0.07, signSGD 0.001 (fails)
    assert list(c["wsd_applies"].values) == [True, False]
    assert c["wsd_claim_holds"].sel(optimizer="sgd").values[0] == 1.0
    assert c["wsd_claim_holds"].sel(optimizer="sign_sgd").values[0] == 0.0
    assert np.isnan(c["wsd_claim_holds"].values[:, 1]).all()
    # the other way round: signSGD steeper at Ia and not at III fails both
    st2 = _study({"sgd": np.array([-0.53, -0.67]), "sign_sgd": np.array([-0.60, -0.672])},
                 {"sgd": np.array([-0.5, 0.0]), "sign_sgd": np.array([-0.4, -0.5])},
                 {"sgd": np.array([-0.6, -0.7]), "sign_sgd": np.array([-0.7, -0.7])})
    c2 = signsgd_claims(st2)
    assert list(c2["slope_claim_holds"].values) == [0.0, 0.0]
    assert list(c2["lr_claim_holds"].values) == [0.0, 1.0]
    # a missing fit is no verdict
    st2["slope"][0, 1, 0] = np.nan
    assert np.isnan(signsgd_claims(st2)["slope_claim_holds"].values[0])


def test_claims_need_both_optimizers():
    st = _study({"sgd": np.zeros(2), "sign_sgd": np.zeros(2)},
                {"sgd": np.zeros(2), "sign_sgd": np.zeros(2)},
                {"sgd": np.zeros(2), "sign_sgd": np.zeros(2)})
    with pytest.raises(ConfigError) as e:
        signsgd_claims(st.sel(optimizer=["sgd"]))
    assert e.value.field == "study"


def test_claims_measured_at_small_d():
    """The theory at d = 32..256 (sampled K_f): signSGD's best rate falls with compute and SGD's
    does not (claim 2), WSD steepens both at (1, 0.3) (claim 3), and signSGD's slope there is
    not steeper than SGD's (claim 1 outside the noise-limited phases). In phase III at these
    sizes signSGD is steeper by 0.03, short of 2 s.e. + 0.01 (docs/plrf.md: measured up to
    d = 1600, where claim 1 fails at 5 of 9 points)."""
    st = scaling_laws([(1.0, 0.3), (0.75, 1.0)], [32, 64, 128, 256], t_max=2**13)
    c = signsgd_claims(st)
    assert np.all(c["lr_claim_holds"].values == 1.0)
    assert np.all(np.abs(c["lr_slope_sgd"].values) < 0.15)
    assert np.all(c["lr_slope_sign"].values < -0.3)
    assert np.all(c["wsd_claim_holds"].values[:, 0] == 1.0)
    assert c["slope_claim_holds"].values[0] == 1.0
    assert -0.1 < float(c["slope_diff"][1]) < 0.0  # steeper in III, by a margin not yet settled
