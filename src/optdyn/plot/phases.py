"""The (alpha, beta) phase map of SignSGD against SignSVD (arXiv 2605.09552)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import ListedColormap

from optdyn.plot import style

__all__ = ["phase_map", "PHASE_COLORS"]

# SignSGD-favoured, trade-off, SignSVD-favoured: Okabe-Ito blue and orange around a light grey,
# apart under deuteranopia, protanopia and tritanopia too (tests/test_plot_style.py)
PHASE_COLORS = [style.PALETTE[0], "#DDDDDD", style.PALETTE[1]]
_EXTRA = (style.PALETTE[2], style.PALETTE[5], style.PALETTE[3])  # colours of ``extra_lines``


def _edges(v: np.ndarray) -> np.ndarray:
    if v.size == 1:  # a single row or column: a cell of width 0.25
        return np.array([v[0] - 0.125, v[0] + 0.125])
    mid = 0.5 * (v[1:] + v[:-1])
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def phase_map(ds: xr.Dataset, ax: Any = None, spots: xr.Dataset | None = None,
              title: str | None = None,
              extra_lines: dict[str, Callable[[np.ndarray], np.ndarray]] | None = None) -> Any:
    """Draw ``ds.label`` over (alpha, beta) with the candidate lines 2 alpha = 1, alpha = 1 and
    2 alpha + 2 beta = 1; ``spots`` (from :func:`optdyn.analysis.phases.spot_check`) are marked
    with the simulated winner (o: agrees with theory, x: disagrees); ``extra_lines`` maps a
    label to beta(alpha), e.g. a boundary read off the map. The legends sit right of the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7.2, 4.4), constrained_layout=True)
    a, b = ds.alpha.values, ds.beta.values
    lab = ds.label.values.T  # (beta, alpha)
    ax.pcolormesh(_edges(a), _edges(b), np.ma.masked_invalid(lab),
                  cmap=ListedColormap(PHASE_COLORS), vmin=-1.5, vmax=1.5, shading="flat")
    aa = np.linspace(_edges(a)[0], _edges(a)[-1], 200)
    ax.axvline(0.5, color="k", ls=":", lw=1.2, label=r"$2\alpha = 1$")
    ax.axvline(1.0, color="k", ls="--", lw=1.2, label=r"$\alpha = 1$")
    ax.plot(aa, 0.5 - aa, color="k", ls="-", lw=1.0, label=r"$2\alpha + 2\beta = 1$")
    for k, (name, fn) in enumerate((extra_lines or {}).items()):
        ax.plot(aa, fn(aa), color=_EXTRA[k % len(_EXTRA)], ls="-.", lw=1.8, label=name)
    if spots is not None:
        for i in range(spots.sizes["point"]):
            s = spots.isel(point=i)
            win = PHASE_COLORS[2] if float(s.sim_log_ratio) > 0 else PHASE_COLORS[0]
            ax.scatter(float(s.alpha), float(s.beta), s=90, c=win, edgecolors="k",
                       marker="o" if bool(s.agree) else "X", zorder=5)
        for m, what in (("o", "agrees"), ("X", "disagrees")):
            ax.scatter([], [], s=50, c="w", edgecolors="k", marker=m,
                       label=f"simulation {what} (colour: its winner)")
    ax.set_xlim(_edges(a)[0], _edges(a)[-1])
    ax.set_ylim(_edges(b)[0], _edges(b)[-1])
    ax.set_xlabel(r"$\alpha$ ($\lambda_j = j^{-2\alpha}$)")
    ax.set_ylabel(r"$\beta$ (target $j^{-\beta}$)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in PHASE_COLORS]
    leg1 = ax.legend(handles, ["SignSGD-favoured", "trade-off", "SignSVD-favoured"],
                     loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    ax.add_artist(leg1)
    ax.legend(loc="lower left", bbox_to_anchor=(1.01, 0.0), fontsize=7)
    ax.set_title(title or rf"phases, $d = {ds.attrs.get('d')}$, "
                          rf"$\sigma = {ds.attrs.get('sigma')}$")
    return ax
