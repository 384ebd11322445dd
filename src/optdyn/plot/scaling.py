"""Figures of compute-optimal scaling on power-law random features (arXiv 2405.15074,
2603.02069): the loss at the best rate per model size with its frontier and fitted slope, the
fitted slope against the largest model size, and the (alpha, beta) phase plane of SGD coloured by
the measured minus the predicted exponent."""

from __future__ import annotations

import math
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import TwoSlopeNorm

from optdyn.analysis.plrf_phases import IV_SPLIT, phase_exponents
from optdyn.plot import style

__all__ = ["frontier_panel", "slope_trend", "phase_plane", "claims_figure"]

def frontier_panel(x: xr.Dataset, ax: Any = None, title: str | None = None) -> Any:
    """One (optimizer, schedule) of :func:`optdyn.analysis.scaling.compute_optimal`: the loss
    at the best rate against compute f = d x samples for each d, the frontier dashed, the fitted
    power law f^slope (thick grey) and, where SGD's phase has a formula, its predicted slope
    through the same frontier midpoint (dotted)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.4), constrained_layout=True)
    for k, d in enumerate(x["d"].values):
        ax.plot(d * x["steps"].values, x["loss"].sel(d=d).values, lw=1.1, label=f"$d = {d}$",
                **style.series(k))
    ax.plot(x["f"].values, x["frontier_loss"].values, "k--", lw=1.4, label="frontier")
    lo, hi = float(x["fit_lo"]), float(x["fit_hi"])
    if math.isfinite(lo):
        ff = np.logspace(math.log10(lo), math.log10(hi), 20)
        slope = float(x["slope"])
        ax.plot(ff, 10 ** float(x["intercept"]) * ff ** slope, color="0.4", lw=2.4, alpha=0.6,
                label=rf"fit: slope {slope:.3f} $\pm$ {float(x['slope_se']):.3f}")
        pred = float(x["predicted_slope"]) if "predicted_slope" in x else math.nan
        if math.isfinite(pred):
            mid = math.sqrt(lo * hi)
            y_mid = 10 ** float(x["intercept"]) * mid ** slope
            ax.plot(ff, y_mid * (ff / mid) ** pred, color="k", ls=":", lw=1.6,
                    label=f"SGD phase formula: {pred:.3f}")
    ax.set(xscale="log", yscale="log", xlabel=r"compute $f = d \times \mathrm{samples}$",
           ylabel=r"loss $P = R + F_0$ at the best lr")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=7, ncol=2)
    return ax


def slope_trend(study: xr.Dataset, ax: Any = None, schedule: str = "constant",
                optimizer: str = "sgd") -> Any:
    """Measured minus predicted slope against the largest model size d_max in the fit, one line
    per (alpha, beta) point of a :func:`optdyn.analysis.scaling.scaling_laws` study (or one
    point of :func:`~optdyn.analysis.scaling.compute_optimal`); bars: the fits' standard
    errors."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.4), constrained_layout=True)
    s = study.sel(optimizer=optimizer, schedule=schedule)
    if "point" not in s.dims:
        s = s.expand_dims("point")
    for k in range(s.sizes["point"]):
        p = s.isel(point=k)
        gap = p["slope_by_d_max"].values - float(p["predicted_slope"])
        if not np.isfinite(gap).any():
            continue
        a, b = (float(p[n]) if n in p.variables else float(p.attrs[n]) for n in ("alpha", "beta"))
        ph = phase_exponents(a, b).phase
        kw = style.series(k)
        kw["marker"] = kw.get("marker") or "o"
        ax.errorbar(p["d_max"].values, gap, yerr=p["slope_se_by_d_max"].values, capsize=2,
                    lw=1.2, label=rf"$\alpha = {a:g}$, $\beta = {b:g}$ ({ph})", **kw)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set(xscale="log", xlabel=r"largest model size $d_{\max}$ in the fit",
           ylabel="measured minus predicted slope")
    ax.legend(frameon=False, fontsize=7)
    return ax


def phase_plane(study: xr.Dataset, ax: Any = None, schedule: str = "constant",
                optimizer: str = "sgd", limit: float = 0.05) -> Any:
    """SGD's phases over (alpha, beta) with the points of a
    :func:`optdyn.analysis.scaling.scaling_laws` study coloured by measured minus predicted
    slope (diverging colours, +-``limit``) and labelled with the phase and the difference."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 5.2), constrained_layout=True)
    s = study.sel(optimizer=optimizer, schedule=schedule)
    a, b = s["alpha"].values, s["beta"].values
    a_hi = max(1.6, float(a.max()) + 0.15)
    b_hi = max(1.6, float(b.max()) + 0.15)
    aa = np.linspace(0.0, a_hi, 200)
    ax.fill_between(aa, 0.0, np.clip(0.5 - aa, 0.0, None), color="0.85",
                    label=r"infinite loss ($2\alpha + 2\beta \leq 1$)")
    ax.plot([0.0, a_hi], [0.5, 0.5], "k-", lw=0.9)
    ax.plot([0.5, 0.5], [0.0, b_hi], "k-", lw=0.9)
    ax.plot([0.5, b_hi], [0.5, b_hi], "k-", lw=0.9)
    for a_split in (0.25, IV_SPLIT):
        ax.plot([a_split, a_split], [0.5, b_hi], "k:", lw=0.9)
    for name, (xa, ya) in {"Ia": (1.1, 0.22), "Ib": (0.33, 0.38), "Ic": (0.06, 1.35),
                           "II": (1.25, 0.85), "III": (0.65, 1.35), "IVa": (0.255, 1.5),
                           "IVb": (0.38, 1.5)}.items():
        ax.text(xa, ya, name, fontsize=10, color="0.35", ha="left", va="center")
    gap = s["slope"].values - s["predicted_slope"].values
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit)
    sc = ax.scatter(a, b, c=np.clip(gap, -limit, limit), cmap="RdBu_r", norm=norm, s=110,
                    edgecolors="k", zorder=5)
    for ai, bi, g in zip(a, b, gap, strict=True):
        ax.annotate(f"{g:+.3f}" if np.isfinite(g) else "no fit", (ai, bi),
                    textcoords="offset points", xytext=(7, 6), fontsize=8)
    plt.colorbar(sc, ax=ax, label="measured minus predicted slope (SGD)")
    ax.set(xlim=(0.0, a_hi), ylim=(0.0, b_hi), xlabel=r"$\alpha$ ($\lambda_j = j^{-2\alpha}$)",
           ylabel=r"$\beta$ ($b_j = j^{-\beta}$)")
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    return ax


def claims_figure(claims: xr.Dataset) -> Any:
    """Three panels of :func:`optdyn.analysis.signsgd_claims.signsgd_claims`: signSGD's minus
    SGD's slope per point (noise-limited phases filled), the best-rate exponents of both, and
    what WSD adds to each; bars are 2 combined standard errors, a cross marks a failed claim."""
    n = claims.sizes["point"]
    labels = [f"{str(p)}\n({a:g}, {b:g})" for p, a, b in
              zip(claims["phase"].values, claims["alpha"].values, claims["beta"].values,
                  strict=True)]
    x = np.arange(n)
    fig, axs = plt.subplots(1, 3, figsize=(16, 4.8), constrained_layout=True)
    k = float(claims.attrs.get("k", 2.0))
    blue, orange = style.PALETTE[0], style.PALETTE[1]

    ax = axs[0]
    noisy = claims["noise_limited"].values
    ax.errorbar(x, claims["slope_diff"].values, yerr=k * claims["slope_diff_se"].values,
                fmt="none", ecolor="0.4", capsize=3)
    ax.scatter(x[noisy], claims["slope_diff"].values[noisy], s=70, c=blue, edgecolors="k",
               zorder=5, label="noise-limited phase (claim: steeper)")
    ax.scatter(x[~noisy], claims["slope_diff"].values[~noisy], s=70, c="w", edgecolors=blue,
               zorder=5, label="other phase (claim: comparable)")
    bad = claims["slope_claim_holds"].values == 0
    ax.scatter(x[bad], claims["slope_diff"].values[bad], s=160, marker="x", c="k", zorder=6,
               label="claim fails here")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set(ylabel="signSGD minus SGD compute-optimal slope", title="1. slope (constant lr)")

    ax = axs[1]
    ax.errorbar(x - 0.1, claims["lr_slope_sgd"].values, fmt="o", color=orange, label="SGD")
    ax.errorbar(x + 0.1, claims["lr_slope_sign"].values, fmt="s", color=blue, label="signSGD")
    bad = claims["lr_claim_holds"].values == 0
    ax.scatter(x[bad], claims["lr_slope_sign"].values[bad], s=160, marker="x", c="k",
               zorder=6, label="claim fails here")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set(ylabel=r"exponent $e$ of the best rate, lr$^* \sim f^{e}$",
           title="2. best learning rate along the frontier")

    ax = axs[2]
    for i, (o, c, m, dx) in enumerate((("sgd", orange, "o", -0.1),
                                       ("sign_sgd", blue, "s", 0.1))):
        g = claims["wsd_gain"].values[i]
        ax.errorbar(x + dx, g, yerr=k * claims["wsd_gain_se"].values[i], fmt=m, color=c,
                    capsize=3, label="SGD" if o == "sgd" else "signSGD")
        bad = claims["wsd_claim_holds"].values[i] == 0
        ax.scatter(x[bad] + dx, g[bad], s=160, marker="x", c="k", zorder=6)
    app = claims["wsd_applies"].values
    for xi in x[app]:
        ax.axvspan(xi - 0.4, xi + 0.4, color="0.9", zorder=0)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set(ylabel="WSD minus constant-lr slope",
           title=r"3. WSD (shaded: $\alpha > 1/2$, $2\beta < 1$, claim: below 0)")
    for ax in axs:
        ax.set_xticks(x, labels, fontsize=8)
        ax.legend(frameon=False, fontsize=7)
    return fig
