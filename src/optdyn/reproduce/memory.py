"""Figures of "Muon in Associative Memory Learning" (Li, Wang, Zhong, Lu, Wang, arXiv 2602.05725).

The paper's settings for the synthetic experiments are not known (docs/theory/clipping.md
B.5 [U]); the choices made here are stated in each caption. Simulations are exact full-batch runs
of :func:`optdyn.simulate.full_batch.run` on :class:`optdyn.problems.memory.AssociativeMemory`
from W0 = 0; theory curves come from :mod:`optdyn.analysis.memory`.
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from optdyn import io  # noqa: E402
from optdyn.analysis import memory as TH  # noqa: E402
from optdyn.optimizers.aligned import AlignedSignSGD  # noqa: E402
from optdyn.optimizers.muon import SignSVD  # noqa: E402
from optdyn.optimizers.normalized import NormalizedSGD  # noqa: E402
from optdyn.optimizers.sgd import SGD  # noqa: E402
from optdyn.optimizers.sign import SignSGD  # noqa: E402
from optdyn.plot import style  # noqa: E402
from optdyn.plot.curves import save_figure  # noqa: E402
from optdyn.problems.memory import AssociativeMemory  # noqa: E402
from optdyn.reproduce import figure, write_caption  # noqa: E402
from optdyn.simulate.full_batch import run  # noqa: E402

__all__: list[str] = []


# ------------------------------------------------------------------------------ memory-groups
def _group_optimizers(pb: AssociativeMemory, lr: float) -> list:
    K = pb.K
    # sign methods at matched update Frobenius norm: ||msgn G||_F = sqrt(K) (rank K - 1 here),
    # ||sign G||_F = K; NGD steps lr sqrt(K) in Frobenius norm as well
    return [SGD(lr), NormalizedSGD(lr * np.sqrt(K)), SignSGD(lr / np.sqrt(K)),
            AlignedSignSGD.for_problem(lr / 2, pb), SignSVD(lr)]


_NAMES = ["GD", "NGD", "SignGD", "aligned SignGD", "Muon"]


@figure("memory-groups", "per-group losses of GD, NGD, SignGD, aligned SignGD and Muon on the "
        "associative memory (Haar embeddings), noiseless and noisy")
def memory_groups(out: Path) -> list[Path]:
    t0 = time.perf_counter()
    K, M, beta, T, lr = 64, 4, 2.0, 15, 1.0
    panels = {}
    for alpha in (0.0, 0.2):
        pb = AssociativeMemory(K, M, beta, alpha, embeddings="haar", seed=0)
        ds = run(pb, _group_optimizers(pb, lr), T, checkpoints=np.arange(1, T + 1))
        panels[alpha] = ds.isel(seed=0).assign_coords(optimizer=("config", _NAMES))
    fig, axes = plt.subplots(2, 5, figsize=(17, 6.5), sharey="row")
    colors = [style.color(g) for g in range(M)]
    lines = []
    for r, (alpha, ds) in enumerate(panels.items()):
        t = ds.step.values[1:]
        for c, name in enumerate(_NAMES):
            ax = axes[r, c]
            ge = ds.group_excess.isel(config=c).values[:, 1:]
            for g in range(M):
                ax.semilogy(t, np.maximum(ge[g], 1e-16), color=colors[g], label=f"group {g + 1}")
            if name == "Muon":
                ax.semilogy(t, TH.muon_noiseless_loss(K, lr, t) if alpha == 0 else
                            TH.muon_noisy_bound(K, lr, t, pb.loss_star), "k--", lw=1,
                            label=r"$K e^{-t}$" if alpha == 0 else "Thm 5.1 bound")
            if name == "GD" and alpha == 0:
                for g in range(M):
                    ax.semilogy(t, TH.gd_subtask_loss(ds.group_mass.values[g] / pb.C, lr, t),
                                ":", color=colors[g], lw=1)
            ax.set_title(rf"{name}, $\alpha = {alpha}$")
            ax.set_xlabel("step $t$")
            if c == 0:
                ax.set_ylabel(r"group loss $- L^*$")
            ax.set_ylim(1e-10, 10)
            end = ge[:, -1]
            lines.append(f"| {alpha} | {name} | " + " | ".join(f"{v:.3g}" for v in end)
                         + f" | {end[-1] / max(end[0], 1e-300):.3g} |")
    axes[0, 0].legend(fontsize=7)
    axes[0, 4].legend(fontsize=7)
    fig.tight_layout()
    png = save_figure(fig, out / "memory-groups.png")
    merged = xr.concat([panels[a] for a in panels], dim=xr.DataArray(list(panels), dims="alpha",
                                                                     name="alpha"))
    merged.attrs.update(panels[0.0].attrs)
    nc = out / "memory-groups.nc"
    io.save(merged, nc)
    # matched-norm check on identity embeddings: SignGD at lr/2 vs Muon at lr (Thm 6.3)
    pid = AssociativeMemory(K, M, beta, 0.0)
    chk = run(pid, [SignSGD(lr / 2), SignSVD(lr)], 20, checkpoints=[10, 20]).isel(seed=0)
    rel = chk.loss.values[0, 1:] / chk.loss.values[1, 1:] - 1
    elapsed = time.perf_counter() - t0
    cap = write_caption(out, "memory-groups", "Per-group excess loss on the associative memory", [
        f"K = {K} pairs, M = {M} groups (C = {K // M}), group masses proportional to "
        f"i^-{beta}, Haar-random orthogonal query and answer embeddings, W0 = 0, exact "
        f"full-batch gradients, T = {T} steps; label noise alpha = 0 (top) and 0.2 (bottom).",
        f"Learning rates (chosen here; the paper's are unknown): GD lr = {lr}; Muon (SignSVD, "
        f"no momentum, exact polar factor) lr = {lr}; the other methods at the update norm of "
        f"Muon: NGD lr sqrt(K), SignGD lr / sqrt(K) (||sign G||_F = K vs ||msgn G||_F ~ "
        "sqrt(K)); aligned (oracle) SignGD at lr / 2 (Thm 6.3: TRA-SignGD at lr ~ Muon at 2 lr).",
        "Dashed: K e^-t (Thm 4.2) on noiseless Muon, the Thm 5.1 two-phase bound (constants 1) "
        "on noisy Muon; dotted: 1/(lr p_j t) (Thm 4.1) on noiseless GD.",
        "", "Excess per group at t = T (head group 1 ... tail group M) and tail/head ratio:", "",
        "| alpha | method | " + " | ".join(f"g{g + 1}" for g in range(M)) + " | tail/head |",
        "|---" * (M + 3) + "|", *lines, "",
        f"Identity embeddings, noiseless: SignGD at lr {lr / 2} vs Muon at lr {lr}: total loss "
        f"ratio - 1 = {rel[0]:+.3f} at t = 10 and {rel[1]:+.3f} at t = 20 (an approximate "
        "equivalence, msgn = I_K up to O(1/C + M/C)).",
        f"Build time {elapsed:.1f} s.",
    ])
    return [png, nc, cap]


# ----------------------------------------------------------------------------- memory-scaling
_BETAS = (1.5, 2.0, 3.0)


@figure("memory-scaling", "excess loss against T for GD and Muon (lr = log K / T) with label "
        "noise, several beta, fitted slopes against the predicted exponents")
def memory_scaling(out: Path) -> list[Path]:
    t0 = time.perf_counter()
    K, M, alpha, c_lr = 64, 32, 0.2, 2.0
    T_gd = 4000
    Ts = np.array([8, 16, 32, 64, 128, 256])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    rows, dsets = [], []
    colors = [style.color(b) for b in range(len(_BETAS))]
    for b, beta in enumerate(_BETAS):
        pb = AssociativeMemory(K, M, beta, alpha)
        lr_gd = 1.0 / float(pb.p.max())
        gd = run(pb, SGD(lr_gd), T_gd, points_per_decade=10).isel(seed=0)
        st, r = gd.step.values[1:], gd.risk.values[1:]
        win = (st >= 20) & (st <= T_gd)
        fgd = TH.fit_exponent(st[win], r[win])
        lb = TH.gd_lower_bound(st, pb.p, lr_gd, K)
        flb = TH.fit_exponent(st[win], lb[win])
        mu = []
        for T in Ts:
            lr = float(TH.muon_scaling_lr(K, T, c_lr))
            d = run(pb, SignSVD(lr), int(T), checkpoints=[int(T)]).isel(seed=0)
            mu.append(float(d.risk.values[-1]))
        mu = np.asarray(mu)
        fmu = TH.fit_exponent(Ts, mu)
        pred = -float(TH.gd_scaling_exponent(beta))
        rows.append(f"| {beta} | {fgd.slope:.3f} +- {fgd.slope_se:.3f} | {flb.slope:.3f} | "
                    f"{pred:.3f} | {fmu.slope:.3f} +- {fmu.slope_se:.3f} | "
                    f"{-TH.MUON_SCALING_EXPONENT:.1f} |")
        axes[0].loglog(st, r, color=colors[b], label=rf"GD $\beta = {beta}$")
        axes[0].loglog(st, lb, ":", color=colors[b], lw=1)
        axes[1].loglog(Ts, mu, "o-", color=colors[b], label=rf"Muon $\beta = {beta}$")
        dsets.append(xr.Dataset(
            {"gd_excess": ("step", gd.risk.values), "gd_lower_bound": ("step_lb", lb),
             "muon_excess": ("T", mu)},
            coords={"step": gd.step.values, "step_lb": st, "T": Ts}).expand_dims(beta=[beta]))
    axes[1].loglog(Ts, TH.muon_scaling_loss(K, Ts), "k--", label=r"$(\log K / T)^2$")
    axes[0].set(xlabel="$T$ (steps)", ylabel="$L - L^*$", title="GD (dotted: Thm 5.7 lower bound)")
    axes[1].set(xlabel=r"$T$ (steps, $\mathrm{lr} = 2 \log K / T$)", ylabel="$L(T) - L^*$",
                title="Muon")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    png = save_figure(fig, out / "memory-scaling.png")
    ds = xr.concat(dsets, dim="beta")
    ds.attrs.update(K=K, M=M, label_noise=alpha, muon_lr_constant=c_lr,
                    gd_lr="1 / max_j p_j", paper="arXiv 2602.05725")
    nc = out / "memory-scaling.nc"
    io.save(ds, nc)
    elapsed = time.perf_counter() - t0
    cap = write_caption(out, "memory-scaling", "Scaling of GD and Muon with label noise", [
        f"K = {K}, M = {M} (C = {K // M}), label noise alpha = {alpha}, identity embeddings, "
        "W0 = 0, exact full-batch gradients.",
        f"GD: constant lr = 1 / max_j p_j (the stability scale of Prop 5.4), one run to "
        f"T = {T_gd}, slope fitted (OLS in log-log, standard errors) on checkpoints "
        f"20 <= T <= {T_gd}; dotted: the Thm 5.7 sum log K sum_j p_j e^(-lr p_j T).",
        f"Muon: one run per horizon T in {Ts.tolist()} with constant lr = {c_lr} log K / T "
        "(the Theta(log K / T) of Thm 5.8; the constant chosen here), final excess fitted.",
        "", "| beta | GD slope (fit) | Thm 5.7 sum slope | predicted -(1 - 1/beta) | "
        "Muon slope (fit) | predicted |", "|---|---|---|---|---|---|", *rows, "",
        "The predicted GD exponent is asymptotic (large M, T inside C/(lr pt_1) << T << "
        "C/(lr pt_M)); at this small M the measured slope includes the finite-M cut-off, and "
        "the gap is reported as measured.", f"Build time {elapsed:.1f} s.",
    ])
    return [png, nc, cap]


# ----------------------------------------------------------------------------- memory-speedup
@figure("memory-speedup", "steps to a target loss against group size C, GD vs Muon (noiseless), "
        "with power-law fits")
def memory_speedup(out: Path) -> list[Path]:
    t0 = time.perf_counter()
    M, beta, lr, target = 4, 2.0, 1.0, 1e-2
    Cs = np.array([2, 4, 8, 16])
    gd_steps, mu_steps = [], []
    for C in Cs:
        pb = AssociativeMemory(int(M * C), M, beta, 0.0)
        T_gd = int(4 * M * C / (lr * target))
        gd = run(pb, SGD(lr), T_gd, points_per_decade=40).isel(seed=0)
        gd_steps.append(TH.steps_to_target(gd.step.values, gd.loss.values, target))
        mu = run(pb, SignSVD(lr), 30, checkpoints=np.arange(1, 31)).isel(seed=0)
        mu_steps.append(TH.steps_to_target(mu.step.values, mu.loss.values, target))
    gd_steps, mu_steps = np.asarray(gd_steps), np.asarray(mu_steps)
    fgd = TH.fit_exponent(Cs, gd_steps)
    fmu = TH.fit_exponent(Cs, mu_steps)
    K = M * Cs
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    ax.loglog(Cs, gd_steps, "o-", color=style.PALETTE[0],
              label=rf"GD: slope {fgd.slope:.2f} $\pm$ {fgd.slope_se:.2f}")
    ax.loglog(Cs, mu_steps, "s-", color=style.PALETTE[1],
              label=rf"Muon: slope {fmu.slope:.2f} $\pm$ {fmu.slope_se:.2f}")
    ax.loglog(Cs, K / (lr * target), "k:", lw=1,
              label=r"$K / (\mathrm{lr}\,\varepsilon)$ (Thm 4.1)")
    ax.loglog(Cs, np.log(K / target) / lr, "k--", lw=1,
              label=r"$\log(K / \varepsilon)$ (Thm 4.2)")
    ax.set(xlabel="group size $C$", ylabel=rf"steps to $L \leq {target}$",
           title=rf"$M = {M}$, $\beta = {beta}$, $\mathrm{{lr}} = {lr}$")
    ax.legend(fontsize=7)
    fig.tight_layout()
    png = save_figure(fig, out / "memory-speedup.png")
    ds = xr.Dataset({"gd_steps": ("C", gd_steps), "muon_steps": ("C", mu_steps),
                     "speedup": ("C", gd_steps / mu_steps)},
                    coords={"C": Cs, "K": ("C", K)},
                    attrs=dict(M=M, beta=beta, lr=lr, target=target, paper="arXiv 2602.05725",
                               gd_slope=fgd.slope, gd_slope_se=fgd.slope_se,
                               muon_slope=fmu.slope, muon_slope_se=fmu.slope_se))
    nc = out / "memory-speedup.nc"
    io.save(ds, nc)
    elapsed = time.perf_counter() - t0
    cap = write_caption(out, "memory-speedup", "Steps to a target loss against group size", [
        f"Noiseless, identity embeddings, M = {M} groups, masses proportional to i^-{beta}, "
        f"C in {Cs.tolist()} (K = M C), W0 = 0, exact full-batch gradients, GD and Muon "
        f"(SignSVD) both at lr = {lr} (chosen here), target L <= {target}; steps interpolated "
        "log-linearly between checkpoints.",
        "| C | GD steps | Muon steps | speed-up |", "|---|---|---|---|",
        *[f"| {c} | {g:.4g} | {m:.3g} | {g / m:.3g} |" for c, g, m in
          zip(Cs, gd_steps, mu_steps, strict=True)], "",
        f"Fit steps ~ C^s: GD s = {fgd.slope:.3f} +- {fgd.slope_se:.3f} (Thm 4.1 predicts 1: "
        f"K / (lr eps)); Muon s = {fmu.slope:.3f} +- {fmu.slope_se:.3f} (Thm 4.2: log(K / eps), "
        "logarithmic in C). Speed-up Omega(C) as stated (docs/theory/memory.md section B.4).",
        f"Build time {elapsed:.1f} s.",
    ])
    return [png, nc, cap]
