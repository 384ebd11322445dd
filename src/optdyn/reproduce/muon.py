"""Figures of "Phases of Muon: When Muon Eclipses SignSGD" (arXiv 2605.09552), rebuilt.

The paper's body was not available (docs/theory/muon.md section 0): sizes, batch sizes, rates and
horizons here are this project's choices, stated in each caption, and the theory is the
derivation of docs/theory/muon.md (:mod:`optdyn.theory.matrix_profiles`,
:mod:`optdyn.theory.laws.matrix`, :mod:`optdyn.analysis.phases`), checked against the simulation
engine.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from optdyn import io  # noqa: E402
from optdyn.analysis.fits import slope  # noqa: E402
from optdyn.analysis.muon import decay_rates, isotropic_match  # noqa: E402
from optdyn.analysis.phases import LABELS, phase_diagram, spot_check  # noqa: E402
from optdyn.plot import style  # noqa: E402
from optdyn.plot.curves import save_figure  # noqa: E402
from optdyn.plot.phases import phase_map  # noqa: E402
from optdyn.reproduce import figure, write_caption  # noqa: E402
from optdyn.theory.matrix_profiles import a_B  # noqa: E402

__all__: list[str] = []


# ---------------------------------------------------------------------- muon-preconditioning
def _fit_slopes(ds: xr.Dataset) -> dict[str, dict[str, float]]:
    lam = ds.eigenvalue.values
    out = {}
    for case in ds.case.values:
        c = ds.sel(case=case)
        r = c.rate.values
        res = {}
        if str(c.optimizer.values) == "SignSVD":
            k0 = float(c.kappa0)
            hi = (lam > 10 * k0) & (np.arange(lam.size) > 0)
            lo = (lam < k0 / 10) & (lam > k0 / 300)
            if hi.sum() >= 5 and np.all(r[hi] > 0):
                res["above kappa_0"] = slope(lam[hi], r[hi])
            if lo.sum() >= 5 and np.all(r[lo] > 0):
                res["below kappa_0"] = slope(lam[lo], r[lo])
        else:
            top = np.arange(lam.size) < 16
            res["top 16 modes"] = slope(lam[top], r[top])
        out[str(case)] = res
    return out


@figure("muon-preconditioning", "per-mode decay rate against lambda: SignSVD's sqrt(K) above "
        "kappa_0(B) and SGD-like below, SignSGD's lambda for every B (Monte Carlo vs theory)")
def muon_preconditioning(out: Path) -> list[Path]:
    t0 = time.perf_counter()
    ds = decay_rates()
    slopes = _fit_slopes(ds)
    lam = ds.eigenvalue.values
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), constrained_layout=True)
    colors = [style.color(i) for i in range(ds.sizes["case"])]
    for i, case in enumerate(ds.case.values):
        c = ds.sel(case=case)
        ax = axes[0] if str(c.optimizer.values) == "SignSVD" else axes[1]
        ok = c.rate.values > 0
        ax.loglog(lam[ok], c.rate.values[ok], ".", color=colors[i], ms=4,
                  label=f"{case} (Monte Carlo)")
        ax.loglog(lam, c.theory.values, "-", color=colors[i], lw=1.2)
        if np.isfinite(c.kappa0):
            ax.axvline(float(c.kappa0), color=colors[i], ls=":", lw=1)
    ref = lam / lam[0]
    axes[0].loglog(lam, 3 * np.sqrt(ref), "k--", lw=0.8, label="slope 1/2")
    axes[0].loglog(lam, 3 * ref, "k-.", lw=0.8, label="slope 1")
    axes[1].loglog(lam, 30 * ref, "k-.", lw=0.8, label="slope 1")
    axes[0].set_title(r"SignSVD: $f_B(\lambda)$ (lines), $\kappa_0(B)$ (dotted)")
    axes[1].set_title(r"SignSGD (Haar basis): $a_B \sqrt{m}\,\lambda$ (lines)")
    for ax in axes:
        ax.set_xlabel(r"eigenvalue $\lambda_j$")
        ax.set_ylabel(r"decay rate $r_j = \mathrm{E}\langle\Delta_j, U_j\rangle\sqrt{2R}/\rho_j$")
        ax.legend(fontsize=7)
    paths = [save_figure(fig, out / "muon-preconditioning.png")]
    paths.append(io.save(ds, out / "muon-preconditioning.nc"))
    lines = [f"Matrix least squares d={ds.attrs['d']}, m={ds.attrs['m']}, lambda_j = j^-2 "
             f"(alpha = {ds.attrs['alpha']}), Haar basis, sigma = {ds.attrs['sigma']} "
             "(noise-dominated), rho_j = 1 for every mode with orthonormal output directions. "
             f"Decay rates from {ds.attrs['n_batches']} batches per case.", "",
             "| case | fitted log-log slope of r_j against lambda_j |", "|---|---|"]
    for case, res in slopes.items():
        lines.append(f"| {case} | " + ", ".join(f"{k}: {v:.3f}" for k, v in res.items()) + " |")
    rel = []
    for case in ds.case.values:
        c = ds.sel(case=case)
        sel = np.arange(lam.size)[1:40]
        gap = np.median(np.abs(c.rate.values[sel] / c.theory.values[sel] - 1))
        rel.append(f"{case}: {gap:.3f}")
    lines += ["", "Median relative gap Monte Carlo vs theory profile, modes 2-40: " +
              "; ".join(rel) + ".",
              "Expected (docs/theory/muon.md section 4, A2-A4): SignSVD slope 1/2 above "
              "kappa_0(B), 1 below, the "
              "crossover moving with kappa_0(B); SignSGD slope 1 for every B (B rescales only "
              f"through a_B: a_16/a_1 = {a_B(16) / a_B(1):.3f}).",
              f"Wall time {time.perf_counter() - t0:.0f} s."]
    paths.append(write_caption(out, "muon-preconditioning", "Per-mode decay rates of SignSVD "
                               "and SignSGD", lines))
    return paths


# --------------------------------------------------------------------------- muon-isotropic
@figure("muon-isotropic", "K = I: SignSVD and SignSGD risk curves coincide after a constant "
        "rescaling of learning rate and time (noise ratio B / a_B^2)")
def muon_isotropic(out: Path) -> list[Path]:
    t0 = time.perf_counter()
    res = {b: isotropic_match(batch_size=b, lr_svd=lr) for b, lr in ((1, 0.3), (16, 0.05))}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), constrained_layout=True)
    for ax, (b, r) in zip(axes, res.items(), strict=True):
        ax.loglog(r["k"], r["r_svd"], "-", color=style.PALETTE[1],
                  label=f"SignSVD lr={r['lr_svd']:.3g}")
        ax.loglog(r["k"], r["r_sgd_rescaled"], "--", color=style.PALETTE[0],
                  label=rf"SignSGD lr={r['lr_sgd']:.3g} at step $\tau k$ ($\tau = {r['tau']:.3f}$)")
        ax.loglog(r["k"], r["r_sgd_same_steps"], ":", color=style.PALETTE[0],
                  label="SignSGD at step $k$")
        ax.loglog(r["th_svd"].step.values[1:], r["th_svd"].risk.values[1:], "k-", lw=0.6,
                  label="template theory (SignSVD)")
        ax.set_title(f"$K = I$, $d = 128$, $m = 256$, $B = {b}$: mean gap after rescaling "
                     f"{r['gap']:.3f}")
        ax.set_xlabel("SignSVD step $k$")
        ax.set_ylabel("risk $R$")
        ax.legend(fontsize=7)
    paths = [save_figure(fig, out / "muon-isotropic.png")]
    data = xr.Dataset({f"B{b}_{n}": ("k" + str(b), r[n]) for b, r in res.items()
                       for n in ("r_svd", "r_sgd_rescaled", "r_sgd_same_steps")},
                      coords={f"k{b}": r["k"] for b, r in res.items()})
    paths.append(io.save(data, out / "muon-isotropic.nc"))
    lines = ["K = I (d=128, m=256), W* with i.i.d. entries (||W*||_F = sqrt(d)), sigma = 0, "
             "W0 = 0, 3 seeds. SignSGD runs at the drift-matched rate for tau = f^2 d / (a_B^2 B) "
             "(= B / a_B^2 for B << d) as many steps (docs/theory/muon.md section 2.5).", "",
             "| B | tau = f^2 d/(a_B^2 B) | lr SignSVD | lr SignSGD | "
             "mean |R_SignSGD(tau k)/R_SignSVD(k) - 1| | same without time rescaling |",
             "|---|---|---|---|---|---|"]
    for b, r in res.items():
        lines.append(f"| {b} | {r['tau']:.4f} | {r['lr_svd']:.3g} | {r['lr_sgd']:.3g} | "
                     f"{r['gap']:.3f} | {r['gap_unscaled']:.3f} |")
    lines.append(f"\nWall time {time.perf_counter() - t0:.0f} s.")
    paths.append(write_caption(out, "muon-isotropic", "Isotropic data: SignSGD = SignSVD up to "
                               "a constant", lines))
    return paths


# ------------------------------------------------------------------------------ muon-phases
_ALPHAS = (0.3, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
_BETAS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
_SPOTS = ((1.5, 0.5), (0.5, 2.0), (1.0, 0.25), (1.0, 1.0), (2.0, 1.0), (0.75, 0.75))


@figure("muon-phases", "(alpha, beta) phase map of SignSGD vs SignSVD from the template theory "
        "at d and 2d, spot-checked by simulation, and best rate against horizon")
def muon_phases(out: Path) -> list[Path]:
    t0 = time.perf_counter()
    sigma = 0.5
    maps = {d: phase_diagram(_ALPHAS, _BETAS, d=d, sigma=sigma, progress=False)
            for d in (128, 256)}
    spots = spot_check(maps[256], _SPOTS, batch_size=16, horizon=1000)
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8), constrained_layout=True)
    phase_map(maps[128], axes[0], title=rf"$d = 128$, $m = 256$, $\sigma = {sigma}$")
    phase_map(maps[256], axes[1], spots=spots,
              title=rf"$d = 256$, $m = 512$, $\sigma = {sigma}$ (+ simulation)")
    # A7: best constant rate against the horizon
    ds = maps[256]
    sel = dict(alpha=1.0, beta=0.5, batch_size=16)
    hs = ds.horizon.values
    lr_slopes = {}
    for meth, c in (("signsgd", style.PALETTE[0]), ("signsvd", style.PALETTE[1])):
        g = ds.best_lr.sel(optimizer=meth).sel(sel).values
        lr_slopes[meth] = slope(hs, g)
        axes[2].loglog(hs, g / g[0], "o-", color=c,
                       label=f"{meth}: slope {lr_slopes[meth]:.3f}")
    axes[2].set_xlabel("horizon $T$ (steps)")
    axes[2].set_ylabel("best constant lr / its value at $T = 100$")
    axes[2].set_title(r"$\alpha = 1$, $\beta = 0.5$, $B = 16$, $d = 256$: $\mathrm{lr}^*(T)$")
    axes[2].legend(fontsize=8)
    paths = [save_figure(fig, out / "muon-phases.png")]
    for d, m in maps.items():
        paths.append(io.save(m, out / f"muon-phases-d{d}.nc"))
    paths.append(io.save(spots, out / "muon-phases-spots.nc"))
    l128, l256 = maps[128].label.values, maps[256].label.values
    valid = np.isfinite(l128) & np.isfinite(l256)
    agree = float(np.mean(l128[valid] == l256[valid]))
    counts = {d: {LABELS[k]: int(np.sum(mp.label.values == k)) for k in LABELS}
              for d, mp in maps.items()}
    lines = [f"Template theory (optdyn.theory.laws.matrix; noise-dominated regime, sigma = "
             f"{sigma}), Haar basis, W0 = 0, m = 2d; B in {{1, 4, 16, 64}}, T in {{1e2, 1e3, 1e4, "
             "1e5}}; best constant lr over a geometric grid (4 per decade) per method, B and T; "
             "label = sign of log R_SignSGD - log R_SignSVD over all (B, T), ties |.| < 0.02 "
             "ignored.", "",
             f"Label counts: d=128 {counts[128]}; d=256 {counts[256]}.",
             f"Labels equal at d=128 and d=256 on {agree:.0%} of the {int(valid.sum())} points.",
             f"Theory time: d=128 {maps[128].attrs['elapsed_s']:.0f} s, d=256 "
             f"{maps[256].attrs['elapsed_s']:.0f} s ({int(valid.sum())} points x 2 methods x 4 B, "
             "one vmapped integration per (point, method, B)).", "",
             "Map (d=256; rows alpha, columns beta; +1 SignSVD-favoured, -1 SignSGD-favoured, "
             "0 trade-off):", "", "| alpha \\ beta | " + " | ".join(f"{b:g}" for b in _BETAS)
             + " |", "|---" * (len(_BETAS) + 1) + "|"]
    for ia, a in enumerate(_ALPHAS):
        lines.append(f"| {a:g} | " + " | ".join(
            "" if not np.isfinite(v) else f"{int(v):+d}" for v in l256[ia]) + " |")
    lines += ["", "Spot checks by simulation (d=256, m=512, B=16, T=1000, 3 seeds, each method "
              "at the theory's best lr x {0.5, 1, 2}):", "",
              "| alpha | beta | R_SignSGD sim | theory | R_SignSVD sim | theory | "
              "log ratio sim | theory | same winner |", "|---|---|---|---|---|---|---|---|---|"]
    for i in range(spots.sizes["point"]):
        s = spots.isel(point=i)
        lines.append(
            f"| {float(s.alpha):g} | {float(s.beta):g} | {float(s.sim_risk[0]):.3g} | "
            f"{float(s.theory_risk[0]):.3g} | {float(s.sim_risk[1]):.3g} | "
            f"{float(s.theory_risk[1]):.3g} | {float(s.sim_log_ratio):+.2f} | "
            f"{float(s.theory_log_ratio):+.2f} | {bool(s.agree)} |")
    lines += ["", f"Best lr against horizon (alpha=1, beta=0.5, B=16, d=256): log-log slope "
              f"SignSGD {lr_slopes['signsgd']:.3f}, SignSVD {lr_slopes['signsvd']:.3f}.",
              "Candidate lines drawn: " + "; ".join(json.loads(
                  maps[256].attrs["candidate_lines"])) + " (docs/theory/muon.md section 2.7 [I]).",
              f"Wall time {time.perf_counter() - t0:.0f} s."]
    paths.append(write_caption(out, "muon-phases", "Phases of SignSGD vs SignSVD", lines))
    return paths
