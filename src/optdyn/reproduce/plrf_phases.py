"""SGD's compute-optimal exponents over the (alpha, beta) phase plane of power-law random
features, from the deterministic-equivalent spectral measure at d up to 25600.

Paquette, Paquette, Xiao, Pennington, "4+3 phases of compute-optimal neural scaling laws"
(arXiv 2405.15074): one point or more in each of the seven phases, the frontier slope measured
from the risk ODE on :func:`optdyn.problems.plrf_equivalent` (no sampled W), beside the phase's
formula (:func:`optdyn.analysis.plrf_phases.phase_exponents`; Ia, II, III published, the others
derived in docs/theory/plrf_phases.md), and how the fitted slope moves as the largest model grows.
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from optdyn import io  # noqa: E402
from optdyn.analysis.plrf_phases import phase_exponents  # noqa: E402
from optdyn.analysis.scaling import scaling_laws  # noqa: E402
from optdyn.analysis.signsgd_claims import signsgd_claims  # noqa: E402
from optdyn.plot.curves import save_figure  # noqa: E402
from optdyn.plot.scaling import (  # noqa: E402
    claims_figure,
    frontier_panel,
    phase_plane,
    slope_trend,
)
from optdyn.reproduce import figure, write_caption  # noqa: E402

__all__: list[str] = []

NAME = "plrf-phase-plane"
# (alpha, beta): Ia x2, Ib, Ic, II x2, III x2, IVa, IVb
POINTS = [(1.0, 0.3), (1.5, 0.25), (0.4, 0.3), (0.2, 0.75), (1.0, 0.75), (1.5, 0.75),
          (0.75, 1.0), (1.0, 1.5), (0.27, 0.75), (0.4, 0.75)]
DS = [100 * 2**k for k in range(9)]  # 100 .. 25600
T_MIN, T_MAX = 16, 2**18
V_RATIO = 4


@figure(NAME, "SGD's compute-optimal slope over the 7 PLRF phases from the deterministic "
              "equivalent (d to 25600) against the phase formulas, and its trend with d")
def plrf_phase_plane(out: Path) -> list[Path]:
    t0 = time.perf_counter()
    study = scaling_laws(POINTS, DS, t_min=T_MIN, t_max=T_MAX, v_ratio=V_RATIO,
                         spectrum="equivalent", optimizers=("sgd",), schedules=("constant",),
                         sgd_method="ode")
    elapsed = time.perf_counter() - t0
    study.attrs["build_seconds"] = elapsed
    files = [io.save(study, out / f"{NAME}.nc")]
    fig, axs = plt.subplots(1, 2, figsize=(14, 5.4), constrained_layout=True)
    phase_plane(study, axs[0])
    axs[0].set_title("SGD, constant lr: measured minus predicted compute-optimal slope")
    slope_trend(study, axs[1])
    axs[1].set_title(r"trend: the slope fitted on $d \leq d_{\max}$, minus the formula")
    files.append(save_figure(fig, out / f"{NAME}.png"))
    k = POINTS.index((1.0, 0.75))
    x = study.isel(point=k).sel(optimizer="sgd", schedule="constant")
    files.append(save_figure(frontier_panel(x, title=r"SGD on the equivalent measure, "
                                            r"$\alpha = 1$, $\beta = 0.75$ (phase II)"),
                             out / f"{NAME}-frontier.png"))
    rows = ["| alpha | beta | phase | formula | slope (d <= 25600) | d <= 1600 | d* slope | "
            "d* formula |", "|---|---|---|---|---|---|---|---|"]
    s = study.sel(optimizer="sgd", schedule="constant")
    for i, (a, b) in enumerate(POINTS):
        p = s.isel(point=i)
        pe = phase_exponents(a, b)
        early = p["slope_by_d_max"].sel(d_max=1600)
        rows.append(f"| {a:g} | {b:g} | {pe.phase} ({pe.source}) | {-pe.eta:.3f} | "
                    f"{float(p['slope']):.3f} +- {float(p['slope_se']):.3f} | "
                    f"{float(early):.3f} | {float(p['d_star_slope']):.3f} | {pe.xi:.3f} |")
    gap = np.abs(s["slope"].values - s["predicted_slope"].values)
    lines = [
        "Model: PLRF (Paquette et al. arXiv 2405.15074): x_j ~ N(0, j^(-2 alpha)) (variance), "
        f"y = <x, b>, b_j = j^(-beta), W_ij ~ N(0, 1/d), v = {V_RATIO} d, theta0 = 0, batch 1, "
        "compute f = d x samples, loss P = R + F0.",
        "Theory: SGD's risk ODE (float64) on the deterministic-equivalent spectral measure of "
        "K_f (optdyn.problems.plrf_equivalent: atoms at bin ratio 1.02 with their target "
        "weights; no W is sampled). Best constant rate per (d, steps) by the analysis tuner "
        "(24-rate log grid under the critical rate 2 / Tr K, parabola refinement).",
        f"- d = {DS[0]}..{DS[-1]} (doubling), steps {T_MIN}..{T_MAX} at 4 per decade; frontier "
        "over d, slope of P*(f) ~ f^s by least squares over the computes where the best d is "
        "bracketed; +- is the fit's standard error (the frontier is a staircase over 9 sizes, "
        "so it understates the uncertainty).",
        "- Left: each point coloured by measured minus predicted slope (clipped at +-0.05). "
        "Right: the same difference for fits on d <= d_max, d_max = 400..25600.",
        "",
        *rows,
        "",
        f"- |measured - formula| over the {len(POINTS)} points: median {np.median(gap):.3f}, "
        f"max {np.max(gap):.3f}.",
        f"Build time: {elapsed:.0f} s.",
    ]
    files.append(write_caption(out, NAME, "SGD's compute-optimal slopes over the PLRF phase "
                               "plane (deterministic equivalent)", lines))
    return files


CLAIMS = "signsgd-plrf-claims"


def _word(holds: float) -> str:
    return "no fit" if not np.isfinite(holds) else ("holds" if holds == 1 else "FAILS")
# (alpha, beta): Ia x3 (slowly decaying target, where WSD should help), II x2, III x2, IVa, IVb
CLAIM_POINTS = [(0.75, 0.3), (1.0, 0.3), (1.5, 0.25), (1.0, 0.75), (1.5, 0.75), (0.75, 1.0),
                (1.0, 1.5), (0.27, 0.75), (0.4, 0.75)]
CLAIM_DS = [100, 200, 400, 800, 1600]
CLAIM_T_MAX = 2**16


@figure(CLAIMS, "the claims of arXiv 2603.02069 measured: signSGD's slope against SGD's by "
                "phase, their best-rate exponents, and what WSD adds (sampled K_f, d to 1600)")
def signsgd_plrf_claims(out: Path) -> list[Path]:
    t0 = time.perf_counter()
    study = scaling_laws(CLAIM_POINTS, CLAIM_DS, t_min=T_MIN, t_max=CLAIM_T_MAX,
                         v_ratio=V_RATIO, spectrum="sampled", sgd_method="ode",
                         optimizers=("sgd", "sign_sgd"), schedules=("constant", "wsd"),
                         progress=None)
    elapsed = time.perf_counter() - t0
    claims = signsgd_claims(study)
    study.attrs["build_seconds"] = elapsed
    files = [io.save(study, out / f"{CLAIMS}.nc"), io.save(claims, out / f"{CLAIMS}-claims.nc")]
    files.append(save_figure(claims_figure(claims), out / f"{CLAIMS}.png"))
    rows = ["| alpha | beta | phase | signSGD - SGD slope | steeper | claim 1 | lr exponent "
            "SGD / signSGD | claim 2 | WSD gain SGD / signSGD | claim 3 |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for i in range(claims.sizes["point"]):
        c = claims.isel(point=i)
        g = c["wsd_gain"].values
        gs = c["wsd_gain_se"].values
        h3 = c["wsd_claim_holds"].values
        rows.append(
            f"| {float(c.alpha):g} | {float(c.beta):g} | {str(c.phase.values)} | "
            f"{float(c.slope_diff):+.3f} +- {float(c.slope_diff_se):.3f} | "
            f"{'yes' if bool(c.sign_steeper) else 'no'} | "
            f"{_word(float(c.slope_claim_holds))} | "
            f"{float(c.lr_slope_sgd):+.3f} / {float(c.lr_slope_sign):+.3f} | "
            f"{_word(float(c.lr_claim_holds))} | "
            f"{g[0]:+.3f} +- {gs[0]:.3f} / {g[1]:+.3f} +- {gs[1]:.3f} | "
            + ("n/a" if not bool(c.wsd_applies) else
               " / ".join(_word(h) for h in h3)) + " |")
    n1 = int(np.nansum(claims["slope_claim_holds"].values))
    n2 = int(np.nansum(claims["lr_claim_holds"].values))
    app = claims["wsd_applies"].values
    n3 = int(np.nansum(claims["wsd_claim_holds"].values[:, app]))
    lines = [
        "Claims of Kim, Song, Yun (arXiv 2603.02069), measured on the theory of PLRF "
        f"(v = {V_RATIO} d, one sampled sketch, seed 0; d = {CLAIM_DS}; steps {T_MIN}.."
        f"{CLAIM_T_MAX}; batch 1): signSGD by its per-step risk ODE, SGD by its risk ODE, each "
        "at its best rate per (d, steps) (WSD: its best peak, linear decay to 0 over the last "
        "20%). A difference counts where it exceeds 2 combined standard errors of the fits "
        "(slopes: plus 0.01).",
        "1. signSGD's compute-optimal slope is steeper than SGD's exactly in the noise-limited "
        f"phases III, IVa, IVb: holds at {n1} of {claims.sizes['point']} points.",
        "2. signSGD's best-rate exponent along the frontier is larger in magnitude than SGD's: "
        f"holds at {n2} of {claims.sizes['point']} points.",
        "3. WSD gives a strictly steeper slope than a constant rate for alpha > 1/2 and "
        f"2 beta < 1: holds in {n3} of {2 * int(app.sum())} (optimizer, point) cases.",
        "",
        *rows,
        "",
        "These are finite-size measurements (d <= 1600): the slopes of SGD at these sizes "
        "differ from its phase formulas by up to a few hundredths (plrf-phase-plane shows "
        "how they move with d), so a claim that fails here by less than that is not settled.",
        f"Build time: {elapsed:.0f} s.",
    ]
    files.append(write_caption(out, CLAIMS, "signSGD against SGD on PLRF: the claims of arXiv "
                               "2603.02069 measured", lines))
    return files
