"""The claims of Kim, Song, Yun (arXiv 2603.02069) on signSGD against SGD on power-law random
features, as measurements of a compute-optimal study.

From a :func:`optdyn.analysis.scaling.scaling_laws` (or one
:func:`~optdyn.analysis.scaling.compute_optimal`) study with both optimizers, per (alpha, beta):

1. **Slope**: d = s_signSGD - s_SGD (constant rate; s < 0, more negative is steeper) with the
   combined standard error se = sqrt(se_1^2 + se_2^2). signSGD is *steeper* where
   d < -(k se + tol). The claim: steeper exactly where SGD is limited by its noise term, the
   phases III, IVa and IVb of arXiv 2405.15074, and comparable (not steeper) elsewhere.
2. **Learning rate**: the exponent e of the best rate along the frontier, lr* ~ f^e. The claim:
   signSGD's exponent is larger, read as |e_signSGD| - |e_SGD| > k se (its best rate falls
   faster with compute; SGD's sits at its stability scale, e near 0).
3. **Schedule**: g = s_WSD - s_constant per optimizer. The claim: WSD is strictly steeper
   (g < -k se) for alpha > 1/2 with a slowly decaying target (2 beta < 1).

Each claim gets ``holds`` per point where it applies (1 holds, 0 fails, NaN where a fit is
missing) and the measured margin, so that where it fails the figure shows by how much.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from optdyn._core.errors import ConfigError
from optdyn.analysis.plrf_phases import phase_exponents

__all__ = ["NOISE_LIMITED", "signsgd_claims"]

#: the phases where SGD's risk is limited by its noise term (arXiv 2405.15074)
NOISE_LIMITED = ("III", "IVa", "IVb")


def _verdict(holds: np.ndarray, *values: np.ndarray) -> np.ndarray:
    """1.0 where the claim holds, 0.0 where it fails, NaN where a fit is missing."""
    ok = np.all([np.isfinite(v) for v in values], axis=0)
    return np.where(ok, holds.astype(float), np.nan)


def signsgd_claims(study: xr.Dataset, k: float = 2.0, tol: float = 0.01) -> xr.Dataset:
    """The three claims measured on ``study`` (see the module docstring).

    Args:
        study: needs the optimizers ``sgd`` and ``sign_sgd`` and the schedule ``constant``
            (``wsd`` too for claim 3), with ``slope``, ``slope_se``, ``lr_slope``,
            ``lr_slope_se`` and the coordinates (or attributes) ``alpha``, ``beta``.
        k: how many combined standard errors a difference must exceed.
        tol: a slope difference below ``tol`` counts as comparable whatever the errors.

    Returns:
        ``xarray.Dataset`` on ``point``: ``phase``, ``noise_limited``, ``slope_diff``,
        ``slope_diff_se``, ``sign_steeper``, ``slope_claim_holds``; ``lr_slope_sgd``,
        ``lr_slope_sign``, ``lr_gap``, ``lr_gap_se``, ``lr_claim_holds``; ``wsd_gain``,
        ``wsd_gain_se`` (optimizer, point), ``wsd_applies``, ``wsd_claim_holds``
        (optimizer, point: NaN where the claim does not apply or WSD was not run).
    """
    opts = set(study["optimizer"].values.tolist())
    if not {"sgd", "sign_sgd"} <= opts or "constant" not in study["schedule"].values:
        raise ConfigError("study", "needs optimizers 'sgd' and 'sign_sgd' with the constant "
                          f"schedule, got {sorted(opts)} x {study['schedule'].values.tolist()}")
    s = study if "point" in study.dims else study.expand_dims("point")
    a = [float(x) for x in np.atleast_1d(s["alpha"].values if "alpha" in s.variables
                                          else s.attrs["alpha"])]
    b = [float(x) for x in np.atleast_1d(s["beta"].values if "beta" in s.variables
                                          else s.attrs["beta"])]
    phase = [phase_exponents(ai, bi).phase for ai, bi in zip(a, b, strict=True)]
    noisy = np.array([p in NOISE_LIMITED for p in phase])
    c = s.sel(schedule="constant")
    diff = (c["slope"].sel(optimizer="sign_sgd") - c["slope"].sel(optimizer="sgd")).values
    dse = np.hypot(c["slope_se"].sel(optimizer="sign_sgd"),
                   c["slope_se"].sel(optimizer="sgd")).values
    steeper = diff < -(k * dse + tol)
    e_sgd = c["lr_slope"].sel(optimizer="sgd").values
    e_sign = c["lr_slope"].sel(optimizer="sign_sgd").values
    lr_gap = np.abs(e_sign) - np.abs(e_sgd)
    lr_se = np.hypot(c["lr_slope_se"].sel(optimizer="sgd"),
                     c["lr_slope_se"].sel(optimizer="sign_sgd")).values
    applies = (np.asarray(a) > 0.5) & (2 * np.asarray(b) < 1)
    names = ["sgd", "sign_sgd"]
    gain = np.full((2, len(a)), np.nan)
    gse = np.full((2, len(a)), np.nan)
    holds3 = np.full((2, len(a)), np.nan)
    if "wsd" in s["schedule"].values:
        for i, o in enumerate(names):
            x = s.sel(optimizer=o)
            gain[i] = (x["slope"].sel(schedule="wsd") - x["slope"].sel(schedule="constant")).values
            gse[i] = np.hypot(x["slope_se"].sel(schedule="wsd"),
                              x["slope_se"].sel(schedule="constant")).values
            holds3[i] = np.where(applies, _verdict(gain[i] < -k * gse[i], gain[i], gse[i]),
                                 np.nan)
    out = xr.Dataset(
        {
            "phase": ("point", phase),
            "noise_limited": ("point", noisy),
            "slope_diff": ("point", diff),
            "slope_diff_se": ("point", dse),
            "sign_steeper": ("point", steeper),
            "slope_claim_holds": ("point", _verdict(steeper == noisy, diff, dse)),
            "lr_slope_sgd": ("point", e_sgd),
            "lr_slope_sign": ("point", e_sign),
            "lr_gap": ("point", lr_gap),
            "lr_gap_se": ("point", lr_se),
            "lr_claim_holds": ("point", _verdict(lr_gap > k * lr_se, lr_gap, lr_se)),
            "wsd_applies": ("point", applies),
            "wsd_gain": (("optimizer", "point"), gain),
            "wsd_gain_se": (("optimizer", "point"), gse),
            "wsd_claim_holds": (("optimizer", "point"), holds3),
        },
        coords={"point": np.arange(len(a)), "alpha": ("point", a), "beta": ("point", b),
                "optimizer": names},
    )
    out.attrs.update(source="Kim, Song, Yun arXiv 2603.02069; phases of arXiv 2405.15074",
                     k=k, tol=tol,
                     criterion=f"a difference counts where it exceeds {k:g} combined standard "
                               f"errors (slopes: plus {tol:g})")
    return out
