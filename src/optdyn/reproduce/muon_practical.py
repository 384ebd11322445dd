"""Practical Muon against exact SignSVD on power-law matrix least squares (acceptance A8).

Paquette, Marshall, Benigni, Wang, Agarwala, Paquette, "Phases of Muon: When Muon Eclipses
SignSGD" (arXiv 2605.09552) analyse stochastic SignSVD,

    W_{k+1} = W_k - lr polar(G_k),    polar(G) = U sign(S) V^T,    G_k = (1/B) X_k^T E_k,

while practical Muon (Keller Jordan, "Muon: An optimizer for hidden layers in neural networks",
blog post, 2024) adds momentum and replaces polar by T steps of the quintic Newton-Schulz
iteration X <- a X + (b A + c A^2) X, A = X X^T, run in bfloat16 on X_0 = U / ||U||_F, i.e. the
odd polynomial p(x) = a x + b x^3 + c x^5 composed T times on every singular value s/||U||_F
(docs/theory/muon.md sections 2.8 and 5). Keller Jordan's (a, b, c) = (3.4445, -4.7750, 2.0315)
leave the singular values spread over about [0.7, 1.2] and do not orthogonalise those below about
1e-3 ||U||_F (p_5(1e-4) = 0.048); the Polar Express coefficients (Amsel, Persson, Musco, Gower,
arXiv 2505.16932, Algorithm 1) converge to polar(U). This module measures the resulting gap in
risk on one problem, :class:`optdyn.problems.MatrixRegression` with power-law spectrum and target,
by simulation only (the paper gives no Muon theory; docs/theory/muon.md section 2.8):
:func:`gap_runs` runs a geometric learning-rate sweep of every variant with common random numbers,
:func:`gap_summary` reduces it to the gap table (risk at a common lr and at each variant's own best
lr, ratios to SignSVD) and :func:`gradient_spectra` measures the singular values that Newton-Schulz
sees. The figure
``muon-vs-signsvd`` and ``tests/test_reproduce_muon_practical.py`` call the same functions.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from optdyn import io  # noqa: E402
from optdyn.analysis.tuning import grid_minimum  # noqa: E402
from optdyn.optimizers import Muon, SignSVD  # noqa: E402
from optdyn.optimizers.base import Optimizer  # noqa: E402
from optdyn.optimizers.polar import ns_singular_value_map  # noqa: E402
from optdyn.plot import style  # noqa: E402
from optdyn.plot.curves import risk_curves, save_figure  # noqa: E402
from optdyn.problems import MatrixRegression  # noqa: E402
from optdyn.reproduce import figure, single_threaded_blas, write_caption  # noqa: E402
from optdyn.simulate import run  # noqa: E402

__all__ = ["VARIANTS", "FIGURE_VARIANTS", "make_optimizer", "problem", "gap_runs", "gap_summary",
           "gradient_spectra", "single_threaded_blas"]

EXACT = "SignSVD"
# name -> Muon keyword arguments (torch convention, lr_shape_rule "none" so that lr is the same
# step size as SignSVD's); EXACT is SignSVD with the exact polar factor by a dense SVD. (The
# low-rank QR path, method="qr", agrees with it to rounding (tests/test_optimizers_muon.py) and is
# cheaper at small B; this figure keeps the dense path as the reference that Muon's NS iterations
# approximate.)
VARIANTS: dict[str, dict[str, Any]] = {
    EXACT: {},
    "NS5 fp32": dict(ns_steps=5, ns_coeffs="keller", ns_dtype="float32", beta=0.0),
    "NS10 fp32": dict(ns_steps=10, ns_coeffs="keller", ns_dtype="float32", beta=0.0),
    "NS5 bf16": dict(ns_steps=5, ns_coeffs="keller", ns_dtype="bfloat16", beta=0.0),
    "PE5 fp32": dict(ns_steps=5, ns_coeffs="polar_express", ns_dtype="float32", beta=0.0),
    "PE10 fp32": dict(ns_steps=10, ns_coeffs="polar_express", ns_dtype="float32", beta=0.0),
    "NS5 bf16 mom": dict(ns_steps=5, ns_coeffs="keller", ns_dtype="bfloat16", beta=0.95),
    "PE10 fp32 mom": dict(ns_steps=10, ns_coeffs="polar_express", ns_dtype="float32", beta=0.95),
    # available, not in the figure (NS3 behaves as NS5 with a larger transient gap)
    "NS3 fp32": dict(ns_steps=3, ns_coeffs="keller", ns_dtype="float32", beta=0.0),
}
_DESCRIPTION = {
    EXACT: "SignSVD, exact polar factor (thin SVD of the dense gradient), no momentum",
    "NS5 fp32": "Muon, NS5 (Keller Jordan coefficients), float32, momentum 0",
    "NS10 fp32": "Muon, 10 NS steps, Keller Jordan coefficients, float32, momentum 0",
    "NS5 bf16": "Muon, NS5 (Keller Jordan coefficients), bfloat16 (torch rounding), momentum 0",
    "PE5 fp32": "Muon, 5 Polar Express steps, float32, momentum 0",
    "PE10 fp32": "Muon, 10 Polar Express steps (about the exact polar factor), float32, "
                 "momentum 0",
    "NS5 bf16 mom": "Muon as torch.optim.Muon: NS5 bfloat16, Nesterov momentum 0.95 (EMA)",
    "PE10 fp32 mom": "Muon, 10 Polar Express steps float32 (about exact), Nesterov momentum 0.95",
    "NS3 fp32": "Muon, 3 Newton-Schulz steps, Keller Jordan coefficients, float32, momentum 0",
}
FIGURE_VARIANTS = tuple(v for v in VARIANTS if v != "NS3 fp32")


def make_optimizer(variant: str, lr: float, batch_size: int) -> Optimizer:
    """The optimizer of ``variant`` (a key of :data:`VARIANTS`) at learning rate ``lr``.

    SignSVD: W <- W - lr polar(G). Muon (torch convention, Nesterov): M <- M + (1 - beta)(G - M),
    U = G + beta (M - G), W <- W - lr NS_T(U) (no shape factor, no weight decay).
    """
    if variant not in VARIANTS:
        raise KeyError(f"unknown variant {variant!r}; known: {list(VARIANTS)}")
    if variant == EXACT:
        return SignSVD(lr, batch_size=batch_size, method="svd")
    return Muon(lr, batch_size=batch_size, nesterov=True, convention="torch",
                lr_shape_rule="none", **VARIANTS[variant])


def problem(d: int, m: int, alpha: float = 1.0, beta: float = 0.5,
            sigma: float = 0.1) -> MatrixRegression:
    """Power-law matrix regression: lambda_j = j^(-2 alpha), W* = Q diag(j^-beta) V, Haar Q."""
    return MatrixRegression.power_law(d, m, alpha, beta, sigma=sigma, basis="haar")


def gap_runs(d: int, m: int, batch_size: int, steps: int, lrs: Sequence[float], *,
             alpha: float = 1.0, beta: float = 0.5, sigma: float = 0.1, seeds: int = 3,
             variants: Sequence[str] = FIGURE_VARIANTS, points_per_decade: int = 10
             ) -> xr.Dataset:
    """Simulate every variant at every lr on one power-law :class:`MatrixRegression`.

    All variants and learning rates see the same samples (the engine's common random numbers).
    Returns a Dataset with ``risk`` (variant, lr, seed, step) (excess population risk
    R = (1/2) tr(Delta^T K Delta), inf once diverged), ``elapsed_s`` (variant) and, when SignSVD
    is among the variants, ``w_signsvd`` (lr, dim, out): its final iterate of seed 0, which
    :func:`gradient_spectra` uses. Attributes hold the problem and run settings as JSON.
    """
    if EXACT not in variants:
        raise ValueError(f"the variants must include the reference {EXACT!r}")
    pb = problem(d, m, alpha, beta, sigma)
    lrs = [float(v) for v in lrs]
    risks, elapsed, w_final, coords = [], [], None, None
    for v in variants:
        opts = [make_optimizer(v, lr, batch_size) for lr in lrs]
        t0 = time.perf_counter()
        with single_threaded_blas():
            ds = run(pb, opts, steps, seeds=seeds, points_per_decade=points_per_decade,
                     return_params=(v == EXACT))
        elapsed.append(time.perf_counter() - t0)
        risks.append(ds["risk"].values)
        if v == EXACT:
            w_final = ds["theta_final"].values[:, 0]
        coords = ds
    assert coords is not None and w_final is not None
    out = xr.Dataset(
        {"risk": (("variant", "lr", "seed", "step"), np.stack(risks)),
         "elapsed_s": ("variant", np.asarray(elapsed)),
         "w_signsvd": (("lr", "dim", "out"), w_final)},
        coords={"variant": list(variants), "lr": lrs, "seed": coords["seed"].values,
                "step": coords["step"].values, "samples": ("step", coords["samples"].values),
                "t": ("step", coords["t"].values)})
    out["risk"].attrs.update(coords["risk"].attrs)
    out.attrs.update(
        problem=json.dumps(pb.to_config(), default=str), d=d, m=m, batch_size=batch_size,
        alpha=alpha, beta=beta, sigma=sigma, steps=steps, n_seeds=seeds,
        variants=json.dumps({v: _DESCRIPTION[v] for v in variants}),
        optimizers=json.dumps({v: make_optimizer(v, lrs[0], batch_size).to_config()
                               for v in variants}, default=str),
        paper="arXiv 2605.09552", optdyn_version=coords.attrs.get("optdyn_version", ""))
    return out


def _mean_risk(risk: xr.DataArray) -> xr.DataArray:
    """Mean over seeds; a run that diverged anywhere makes the mean inf."""
    return risk.mean("seed").where(np.isfinite(risk).all("seed"), np.inf)


def gap_summary(ds: xr.Dataset, common_lr: float | None = None) -> xr.Dataset:
    """The gap table of a :func:`gap_runs` result, per variant (means over seeds).

    ``common_lr`` defaults to SignSVD's best lr (lowest final mean risk). Returns ``r_common``
    (final risk at common_lr), ``ratio_common`` = R_variant / R_SignSVD there,
    ``max_ratio_common`` and ``min_ratio_common`` (over the checkpoints k > 0),
    ``mean_rel_gap_common`` = mean_k |R_variant(k) / R_SignSVD(k) - 1|, ``best_lr`` and
    ``r_best`` (the variant's own best lr on the grid and its final risk), ``ratio_best`` =
    R_variant(best_lr_variant) / R_SignSVD(best_lr_SignSVD) and ``curve_common`` (variant, step):
    the ratio over steps; ``ratio_min_lr``: the final ratio at the smallest lr of the grid (where
    the transient, not the noise floor, sets the final risk).
    """
    mean = _mean_risk(ds["risk"])
    final = mean.isel(step=-1)
    fin_vals = np.where(np.isfinite(final.values), final.values, np.inf)
    best_idx, _ = grid_minimum(fin_vals, axis=1)
    lrs = ds["lr"].values
    ref_best = int(best_idx[list(ds["variant"].values).index(EXACT)])
    if common_lr is None:
        common_lr = float(lrs[ref_best])
    c = int(np.argmin(np.abs(np.log(lrs / common_lr))))
    curve = mean.isel(lr=c) / mean.sel(variant=EXACT).isel(lr=c)
    later = curve.isel(step=slice(1, None))
    r_best = fin_vals[np.arange(len(best_idx)), best_idx]
    return xr.Dataset(
        {"r_common": ("variant", final.isel(lr=c).values),
         "ratio_common": ("variant", curve.isel(step=-1).values),
         "max_ratio_common": ("variant", later.max("step").values),
         "min_ratio_common": ("variant", later.min("step").values),
         "mean_rel_gap_common": ("variant", np.abs(later - 1).mean("step").values),
         "best_lr": ("variant", lrs[best_idx]),
         "r_best": ("variant", r_best),
         "ratio_best": ("variant", r_best / fin_vals[list(ds["variant"].values).index(EXACT),
                                                      ref_best]),
         "ratio_min_lr": ("variant", (final.isel(lr=int(np.argmin(lrs)))
                                      / final.sel(variant=EXACT).isel(lr=int(np.argmin(lrs))))
                          .values),
         "curve_common": (("variant", "step"), curve.values)},
        coords={"variant": ds["variant"].values, "step": ds["step"].values},
        attrs={"common_lr": float(lrs[c])})


def gradient_spectra(pb: MatrixRegression, w: np.ndarray, batch_size: int, *, draws: int = 40,
                     beta: float = 0.95, warmup: int = 100, seed: int = 0) -> dict[str, np.ndarray]:
    """Singular values, divided by the Frobenius norm, of the matrices Newton-Schulz sees.

    Returns four pooled arrays (float64), each over ``draws`` fresh batches: ``"G at W0"`` and
    ``"G at W"``, the mini-batch gradient G = (1/B) X^T (X W - Y) at the start W0 and at ``w``
    (its nonzero singular values only, at most min(B, d, m) per draw), and ``"U at W0"``,
    ``"U at W"``, Muon's Nesterov input U = G + beta (M - G), M <- M + (1 - beta)(G - M), with W
    frozen (M run ``warmup`` steps first; the EMA averages about (1 + beta)/(1 - beta) batches,
    so U is close to E[G] = K (W - W*), whose spectrum is far steeper at W0).
    """
    rank = min(batch_size, pb.d, pb.m)
    base = jax.random.key(seed)
    batches = [tuple(np.asarray(v, float) for v in pb.sample(jax.random.fold_in(base, i),
                                                             batch_size, jnp.float64))
               for i in range(warmup + draws)]

    def sv(a: np.ndarray, k: int) -> np.ndarray:
        s = np.linalg.svd(a, compute_uv=False)[:k]
        return s / np.sqrt(np.sum(s * s))

    out: dict[str, np.ndarray] = {}
    for name, at in (("W0", np.asarray(pb.w0, float)), ("W", np.asarray(w, float))):
        buf, gs, us = np.zeros_like(at), [], []
        for i, (x, y) in enumerate(batches):
            g = x.T @ (x @ at - y) / batch_size
            buf = buf + (1 - beta) * (g - buf)
            if i >= warmup:
                gs.append(sv(g, rank))
                us.append(sv(g + beta * (buf - g), min(pb.d, pb.m)))
        out[f"G at {name}"], out[f"U at {name}"] = np.concatenate(gs), np.concatenate(us)
    return {k: out[k] for k in ("G at W0", "U at W0", "G at W", "U at W")}


# -------------------------------------------------------------------------------- the figure
_STYLES = {v: style.series(i) for i, v in enumerate(VARIANTS)}  # colour, markers past 7
_MAPS = {"NS3 Keller": (3, "keller"), "NS5 Keller": (5, "keller"), "NS10 Keller": (10, "keller"),
         "PE5": (5, "polar_express")}
# (batch size, label noise, lr grid): B < d (rank-deficient gradients) and B = d
_SETTINGS = [(8, 0.1, 1e-3 * 2.0 ** np.arange(5)), (64, 0.1, 5e-4 * 2.0 ** np.arange(5))]
_SIZE = dict(d=64, m=64, alpha=1.0, beta=0.5, steps=1000, seeds=3)


def _row(axes: Any, ds: xr.Dataset, summ: xr.Dataset, spectra: dict[str, np.ndarray]) -> None:
    variants = list(ds["variant"].values)
    colors = [_STYLES[v]["color"] for v in variants]
    c_lr = summ.attrs["common_lr"]
    tag = rf"$B = {ds.attrs['batch_size']}$, $\sigma = {ds.attrs['sigma']}$"
    sub = ds["risk"].sel(lr=c_lr).rename(variant="config")
    sub = sub.to_dataset(name="risk").assign_coords(label=("config", variants))
    risk_curves(sub, ax=axes[0], x="step", colors=colors,
                title=f"{tag}: risk at common lr {c_lr:.3g}")
    ax = axes[1]
    steps = ds["step"].values
    for v in variants:
        ax.loglog(steps[1:], summ["curve_common"].sel(variant=v).values[1:], label=v,
                  **_STYLES[v])
    ax.axhline(1.0, color="k", lw=0.8)
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set(xlabel="step", ylabel=r"$R_\mathrm{variant} / R_\mathrm{SignSVD}$ (log scale)",
           title=f"{tag}: gap ratio at lr {c_lr:.3g}")
    ax = axes[2]
    final = _mean_risk(ds["risk"]).isel(step=-1)
    for v in variants:
        ax.loglog(ds["lr"].values, final.sel(variant=v).values, ms=3, color=_STYLES[v]["color"],
                  marker="s" if "marker" in _STYLES[v] else "o", label=v)
    ax.set(xlabel="lr", ylabel=f"final risk (step {int(steps[-1])})",
           title=f"{tag}: learning-rate sweep")
    ax.legend(frameon=False, fontsize=6)
    ax = axes[3]
    grid = np.logspace(-7, 0, 400)
    for (k, vals), (ls, col) in zip(spectra.items(), (("-", "k"), ("-", "0.55"), ("--", "k"),
                                                      ("--", "0.55")), strict=True):
        s = np.sort(vals)
        ax.semilogx(s, np.arange(1, s.size + 1) / s.size, ls, color=col, lw=1.6,
                    label=f"CDF {k}")
    ax.axvline(1e-3, color="0.6", lw=0.8)
    ax.set(xlabel=r"$s / \|\cdot\|_F$", ylabel=r"fraction of singular values $\leq s$",
           xlim=(1e-7, 1),
           title=f"{tag}: spectra and NS maps")
    twin = ax.twinx()
    for (name, (t, co)), col in zip(_MAPS.items(), style.PALETTE, strict=False):
        twin.semilogx(grid, ns_singular_value_map(grid, t, co), color=col, lw=1, label=name)
    twin.set_ylabel(r"NS output singular value $p_T(s)$")
    twin.set_ylim(0, 1.6)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, frameon=False, fontsize=6, loc="upper left")


def _table(ds: xr.Dataset, summ: xr.Dataset) -> list[str]:
    lrs = ds["lr"].values
    rows = [f"B = {ds.attrs['batch_size']}, sigma = {ds.attrs['sigma']}; common lr = "
            f"{summ.attrs['common_lr']:.3g} (SignSVD's best on the grid "
            f"{', '.join(f'{v:.3g}' for v in lrs)}):", "",
            "| variant | R at common lr | ratio | max / min ratio over steps | mean rel. gap | "
            f"ratio at lr {lrs.min():.3g} | best lr | R at best lr | tuned ratio | time (s) |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for v in summ["variant"].values:
        s = summ.sel(variant=v)
        rows.append(
            f"| {v} | {float(s.r_common):.4g} | {float(s.ratio_common):.3f} | "
            f"{float(s.max_ratio_common):.3f} / {float(s.min_ratio_common):.3f} | "
            f"{100 * float(s.mean_rel_gap_common):.1f}% | {float(s.ratio_min_lr):.3g} | "
            f"{float(s.best_lr):.3g} | {float(s.r_best):.4g} | {float(s.ratio_best):.3f} | "
            f"{float(ds['elapsed_s'].sel(variant=v)):.1f} |")
    return rows + [""]


def _spectra_line(ds: xr.Dataset, spectra: dict[str, np.ndarray]) -> str:
    parts = []
    for k, s in spectra.items():
        p5 = ns_singular_value_map(s, 5, "keller")
        parts.append(f"{k}: {100 * np.mean(s < 1e-3):.0f}% of singular values below "
                     f"1e-3 ||.||_F, {100 * np.mean(p5 < 0.5):.0f}% mapped below 0.5 by NS5")
    return (f"B = {ds.attrs['batch_size']}: " + "; ".join(parts) + ".")


def _reading(rows_ds: list[xr.Dataset], summs: list[xr.Dataset],
             specs: list[dict[str, np.ndarray]]) -> list[str]:
    """The measured gaps in words (every number computed from this build's runs)."""
    def val(k: str, v: str) -> list[float]:
        return [float(s[k].sel(variant=v)) for s in summs]

    def fmt(xs: list[float], f: str = ".2f") -> str:
        return " / ".join(format(x, f) for x in xs)

    bs = " / ".join(str(ds.attrs["batch_size"]) for ds in rows_ds)
    mom0 = [v for v in FIGURE_VARIANTS if v != EXACT and VARIANTS[v]["beta"] == 0.0]
    fin = [float(summ["ratio_common"].sel(variant=v)) for summ in summs for v in mom0]
    u0 = [100 * float(np.mean(sp["U at W0"] < 1e-3)) for sp in specs]
    g0 = [100 * float(np.mean(sp["G at W0"] < 1e-3)) for sp in specs]
    bf = [float(s["r_common"].sel(variant="NS5 bf16") / s["r_common"].sel(variant="NS5 fp32"))
          for s in summs]
    ns_m, pe_m = val("ratio_min_lr", "NS5 bf16 mom"), val("ratio_min_lr", "PE10 fp32 mom")
    return [
        f"Reading (B = {bs}): without momentum every Newton-Schulz variant ends within "
        f"{100 * max(abs(x - 1) for x in fin):.0f}% of SignSVD at the common lr (final ratios "
        f"{min(fin):.3f} to {max(fin):.3f}); the gap is in the transient. Keller Jordan's NS5 "
        f"(fp32) is up to {fmt(val('max_ratio_common', 'NS5 fp32'))}x behind there: its map "
        "sends the dominant singular value to about 0.7 (p(1) = 0.701, docs/theory/muon.md section "
        "5.1) and leaves "
        f"those below ~1e-3 ||G||_F nearly unorthogonalised ({fmt(g0, '.0f')}% of the gradient's "
        "nonzero singular values at W0, docs/theory/muon.md section 2.8); NS10 (Keller) cuts the "
        "transient gap to "
        f"{fmt(val('max_ratio_common', 'NS10 fp32'))}x, Polar Express to "
        f"{fmt(val('max_ratio_common', 'PE5 fp32'))}x (5 steps) and "
        f"{fmt(val('max_ratio_common', 'PE10 fp32'), '.4f')}x (10 steps). At the floor the "
        "NS variants can even be slightly below SignSVD (their maps shrink the small, "
        "noise-dominated directions).",
        f"bfloat16 NS5 against float32 NS5: final risk ratio {fmt(bf, '.3f')} at the common lr "
        "(bf16 rounding noise, amplified by NS5 on the null space of a rank-B gradient when "
        "B < d, adds a little to the floor).",
        "Momentum 0.95 (Nesterov): at SignSVD's lr it raises the final risk "
        f"{fmt(val('ratio_common', 'PE10 fp32 mom'))}x even with an almost exact polar "
        f"factor (PE10); tuned, the ratio is {fmt(val('ratio_best', 'PE10 fp32 mom'))} (PE10) "
        f"and {fmt(val('ratio_best', 'NS5 bf16 mom'))} (NS5 bf16, the torch.optim.Muon "
        f"default), at lr {fmt(val('best_lr', 'PE10 fp32 mom'), '.3g')} and "
        f"{fmt(val('best_lr', 'NS5 bf16 mom'), '.3g')}. At the smallest lr, where the transient "
        "decides, "
        f"momentum with PE10 ends at {fmt(pe_m)}x SignSVD's risk but with NS5 bf16 at "
        f"{fmt(ns_m)}x: the momentum input averages about 40 batches, is close to "
        f"K (W - W*), and at W0 {fmt(u0, '.0f')}% of its singular values lie below "
        "1e-3 ||U||_F, where NS5 does not reach 1.",
    ]


@figure("muon-vs-signsvd", "Muon variants (NS steps, coefficients, bf16, momentum) against exact "
        "SignSVD on power-law matrix least squares: risk, gap ratio, lr sweep, NS maps (A8)")
def muon_vs_signsvd(out: Path) -> list[Path]:
    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    out = Path(out)
    sz = _SIZE
    rows_ds, summs, specs = [], [], []
    for b, sigma, lrs in _SETTINGS:
        ds = gap_runs(sz["d"], sz["m"], b, sz["steps"], lrs, alpha=sz["alpha"],
                      beta=sz["beta"], sigma=sigma, seeds=sz["seeds"])
        summ = gap_summary(ds)
        pb = problem(sz["d"], sz["m"], sz["alpha"], sz["beta"], sigma)
        w = ds["w_signsvd"].sel(lr=summ.attrs["common_lr"]).values
        with single_threaded_blas():
            specs.append(gradient_spectra(pb, w, b))
        rows_ds.append(ds)
        summs.append(summ)
    fig, axes = plt.subplots(len(_SETTINGS), 4, figsize=(20, 4.6 * len(_SETTINGS)))
    for r in range(len(_SETTINGS)):
        _row(axes[r], rows_ds[r], summs[r], specs[r])
    fig.tight_layout()
    png = save_figure(fig, out / "muon-vs-signsvd.png")
    parts = []
    for ds, summ in zip(rows_ds, summs, strict=True):
        part = (ds.drop_vars("w_signsvd")
                .assign_coords(lr_index=("lr", np.arange(ds.sizes["lr"])))
                .swap_dims(lr="lr_index").reset_coords("lr"))
        for k in ("r_common", "ratio_common", "max_ratio_common", "min_ratio_common",
                  "mean_rel_gap_common", "ratio_min_lr", "best_lr", "r_best", "ratio_best"):
            part[k] = summ[k]
        part["gap_ratio_common"] = summ["curve_common"]
        part["common_lr"] = summ.attrs["common_lr"]
        parts.append(part)
    # spectra padded with NaN to a common length
    n_sv = max(v.size for sp in specs for v in sp.values())
    for part, sp in zip(parts, specs, strict=True):
        part["singular_values"] = (("spectrum", "sv_index"), np.stack(
            [np.pad(v, (0, n_sv - v.size), constant_values=np.nan) for v in sp.values()]))
        part.coords["spectrum"] = list(sp)
    merged = xr.concat(parts, dim=xr.DataArray([b for b, _, _ in _SETTINGS], dims="batch_size",
                                               name="batch_size"),
                       data_vars="all", combine_attrs="drop_conflicts")
    merged["singular_values"].attrs["description"] = (
        "s / ||.||_F of the matrices Newton-Schulz sees (gradient_spectra), NaN-padded")
    nc = out / "muon-vs-signsvd.nc"
    io.save(merged, nc)
    elapsed = time.perf_counter() - t0
    pe10 = [float(s["mean_rel_gap_common"].sel(variant="PE10 fp32")) for s in summs]
    shape = np.sqrt(max(1.0, sz["m"] / sz["d"]))
    lines = [
        f"Power-law matrix least squares (docs/theory/muon.md section 1.1, 3.1): d = {sz['d']}, m "
        f"= {sz['m']}, "
        f"lambda_j = j^-{2 * sz['alpha']:g} (alpha = {sz['alpha']}), W* = Q diag(j^-{sz['beta']}) "
        f"V (beta = {sz['beta']}, random unit output directions), Haar-random eigenbasis Q, "
        f"W0 = 0, Gaussian label noise sigma = {_SETTINGS[0][1]}, batch B in "
        f"{[b for b, _, _ in _SETTINGS]}, {sz['steps']} steps, {sz['seeds']} seeds (means "
        "over seeds; the same samples for every variant and lr), float32 iterates, exact "
        "population risk R = (1/2) tr(Delta^T K Delta). Sizes, batches and the lr grids are "
        "chosen here (the paper's are not known; docs/theory/muon.md section 4). sigma = 0 is not "
        "run: the "
        "engine compiles noiseless problems separately, which would double the build time.",
        "Variants (lr_shape_rule 'none', so lr is the same step size as SignSVD's; "
        f"torch.optim.Muon's default 'original' factor sqrt(max(1, m/d)) is {shape:.3g} here; no "
        "weight decay; momentum in torch's EMA form, Nesterov):",
        "", *[f"- {k}: {_DESCRIPTION[k]}" for k in FIGURE_VARIANTS], "",
        "Each variant runs a geometric lr sweep (factor 2). 'common lr' is SignSVD's best lr; "
        "'ratio' = final R_variant / R_SignSVD at that lr; 'max / min ratio' over the geometric "
        "checkpoints; 'mean rel. gap' = mean over checkpoints of |R_variant / R_SignSVD - 1|; "
        "'ratio at lr ...' = the final ratio at the smallest lr of the grid; 'tuned ratio' "
        "compares each variant at its own best lr with SignSVD at its own. In the figure "
        "SignSVD's curves are hidden under PE10's, and NS5 fp32's under NS5 bf16's.",
        "", *_table(rows_ds[0], summs[0]), *_table(rows_ds[1], summs[1]),
        "Singular values that Newton-Schulz sees (right panels, with the maps p_T of NS3/5/10 "
        "(Keller) and PE5; pooled over 40 draws at W0 and at the final SignSVD iterate W of seed "
        "0 at the common lr; U = Nesterov momentum input with W frozen):",
        *[f"- {_spectra_line(ds, sp)}" for ds, sp in zip(rows_ds, specs, strict=True)], "",
        *_reading(rows_ds, summs, specs), "",
        f"PE10 (float32, about the exact polar factor) stays within {100 * max(pe10):.2f}% of "
        "SignSVD (thin SVD) on average over the checkpoints, an independent check of both.",
        f"Build time {elapsed:.0f} s on {os.cpu_count()} CPU cores (1-min load average "
        f"{load0:.1f} at the start; the time column is each variant's whole lr sweep, compilation "
        "included; the momentum variants reuse the compiled code of their momentum-0 twins).",
    ]
    cap = write_caption(out, "muon-vs-signsvd", "Practical Muon against exact SignSVD (A8)",
                        lines)
    return [png, nc, cap]
