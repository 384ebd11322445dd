"""Risk curves: mean over seeds with a quantile band, one colour per config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

__all__ = ["risk_curves", "overlay", "save_figure"]


def _configs(ds: xr.Dataset) -> list[xr.Dataset]:
    if "config" in ds.dims:
        return [ds.isel(config=i) for i in range(ds.sizes["config"])]
    return [ds]


def risk_curves(
    ds: xr.Dataset,
    ax: Any = None,
    x: str = "t",
    var: str = "risk",
    band: tuple[float, float] = (0.1, 0.9),
    theory: xr.Dataset | None = None,
    title: str | None = None,
    colors: Any = None,
) -> Any:
    """Plot ``var`` against ``x`` on log-log axes: the mean over seeds and a quantile band.

    Runs that diverged are left out of the mean and band, and counted in the legend. ``theory``
    (a Dataset with ``var`` and the same configs, no seed dimension) is drawn as black dashed
    lines on top. Returns the matplotlib Axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 4.2), constrained_layout=True)
    items = _configs(ds)
    if colors is None:
        cmap = plt.get_cmap("viridis")
        colors = [cmap(v) for v in np.linspace(0.0, 0.9, max(len(items), 1))]
    lo_hi = [np.inf, 0.0]
    for i, sub in enumerate(items):
        vals = np.asarray(sub[var].transpose("seed", ...).values, dtype=float)
        xs = np.asarray(sub[x].values, dtype=float)
        ok = np.all(np.isfinite(vals), axis=-1)
        label = str(sub["label"].values) if "label" in sub.coords else var
        n_div = int((~ok).sum())
        if n_div:
            label += f"  [{n_div}/{len(ok)} diverged]"
        keep = xs > 0  # log axes: step 0 is the start, not drawn
        if ok.any():
            good = vals[ok][:, keep]
            mean = good.mean(axis=0)
            lo, hi = np.quantile(good, band, axis=0)
            ax.fill_between(xs[keep], lo, hi, color=colors[i], alpha=0.25, lw=0)
            pos = good[good > 0]
            if pos.size:
                lo_hi = [min(lo_hi[0], pos.min()), max(lo_hi[1], pos.max())]
            ax.plot(xs[keep], mean, color=colors[i], lw=1.6, label=label)
        else:
            ax.plot([], [], color=colors[i], lw=1.6, ls=":", label=label)
    if theory is not None:
        drawn = False
        for sub in _configs(theory):
            xs = np.asarray(sub[x].values, dtype=float)
            keep = xs > 0
            ys = np.asarray(sub[var].values, dtype=float)[keep]
            if np.isfinite(ys).any():
                ax.plot(xs[keep], ys, "k--", lw=1.1, label="theory" if not drawn else None)
                drawn = True
    ax.set_xscale("log")
    ax.set_yscale("log")
    if theory is not None and lo_hi[1] > 0:
        # the simulations set the scale; a diverging theory curve leaves through the top
        ax.set_ylim(lo_hi[0] / 2, lo_hi[1] * 3)
    xlabel = {"t": "t = samples / d", "step": "step", "samples": "samples"}.get(x, x)
    ax.set_xlabel(xlabel)
    ax.set_ylabel({"risk": "excess risk R", "loss": "population loss"}.get(var, var))
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=7)
    return ax


def overlay(
    simulation: xr.Dataset,
    theory: xr.Dataset,
    ax: Any = None,
    x: str = "t",
    var: str = "risk",
    title: str | None = None,
) -> Any:
    """Simulation bands (mean and 10-90% over seeds) with the theory as black dashed lines.

    ``theory`` is a result of :func:`optdyn.theory.run` (or ``run_available``) on the same
    optimizers as ``simulation``; configs without a theory (NaN) get no dashed line.
    """
    n_sim = simulation.sizes.get("config", 1)
    n_th = theory.sizes.get("config", 1)
    if n_sim != n_th:
        raise ValueError(f"simulation has {n_sim} configs, theory {n_th}: run both on the same "
                         "list of optimizers")
    if var not in theory:
        raise ValueError(f"the theory dataset has no {var!r} (the noise variance is infinite?)")
    return risk_curves(simulation, ax=ax, x=x, var=var, theory=theory, title=title)


def save_figure(fig_or_ax: Any, path: str | Path, dpi: int = 150) -> Path:
    """Save a figure (or the figure of an Axes) to ``path``; PDFs embed TrueType fonts."""
    fig = fig_or_ax.figure if hasattr(fig_or_ax, "figure") and not hasattr(fig_or_ax, "savefig") \
        else fig_or_ax
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with plt.rc_context({"pdf.fonttype": 42}):
        fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
