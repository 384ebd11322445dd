"""Risk curves: simulation mean and quantile band, theory dashed, one colour per config."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import xarray as xr
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from optdyn.plot import style
from optdyn.plot._configs import Entry, entries
from optdyn.plot._draw import (
    draw_sim,
    draw_theory,
    mark_divergence,
    sim_part,
    theory_part,
    y_range,
)

__all__ = ["risk_curves", "overlay", "save_figure"]


def _at(x: str, v: float) -> str:
    return {"t": rf"$t = {v:.3g}$", "step": f"step {v:.4g}",
            "samples": f"{v:.4g} samples"}.get(x, f"{x} = {v:.3g}")


def _legend(ax: Any, rows: list[tuple[Any, str]], band: tuple[float, float], kinds: set[str]
            ) -> None:
    key: list[tuple[Any, str]] = []
    if "sim" in kinds:
        key.append(((Patch(facecolor=style.KEY_COLOR, alpha=0.22, lw=0),
                     Line2D([], [], color=style.KEY_COLOR, lw=1.6)),
                    f"solid: simulation mean, band {100 * band[0]:g}-{100 * band[1]:g}%"))
    if "theory" in kinds:
        key.append((Line2D([], [], color=style.KEY_COLOR, lw=1.3, ls="--"), "dashed: theory"))
    if "diverged" in kinds:
        key.append((Line2D([], [], color=style.KEY_COLOR, ls="none", marker="x", mew=2.0),
                    "x: diverged (median run; theory: off the top)"))
    handles, texts = zip(*(rows + key), strict=True) if rows or key else ((), ())
    hmap: dict[Any, Any] = {tuple: HandlerTuple(ndivide=None, pad=0.3)}
    if "sim" in kinds:
        hmap[key[0][0]] = HandlerTuple(ndivide=1)
    style.legend(ax, list(handles), list(texts), handler_map=hmap, handlelength=3.2)


def _draw_entry(ax: Any, e: Entry, sim: Any, th: Any, x: str, band: tuple[float, float],
                top: float | None, kinds: set[str]) -> tuple[Any, str]:
    text, lines = e.name, []
    if sim is not None:
        if sim.n_div:
            text += f"  [{sim.n_div}/{sim.n_runs} diverged]"
            mark_divergence(ax, sim.x_div, e.style["color"])
            kinds.add("diverged")
        lines.append(draw_sim(ax, sim, e.style, band, text))
        kinds.add("sim")
    if th is not None:
        line, x_exit = draw_theory(ax, th, e.style, top, "_" + text if sim is not None else text)
        lines.append(line)
        kinds.add("theory")
        if th.diverged and th.x_div is not None:
            text += (", theory" if sim is not None else "") + f" (diverged at {_at(x, th.x_div)})"
            # the mark ends the dashed line where it leaves the plot (or where it diverged)
            mark_divergence(ax, x_exit if x_exit is not None else th.x_div, e.style["color"])
            kinds.add("diverged")
    elif e.in_theory:
        text += " (no theory)"
        if sim is None:
            lines.append(Line2D([], [], ls=":", lw=1.3, **e.style))
    if lines:
        lines[0].set_label(text)
    return (tuple(lines) if len(lines) > 1 else lines[0]), text


def risk_curves(
    ds: xr.Dataset | None,
    ax: Any = None,
    x: str = "t",
    var: str = "risk",
    band: tuple[float, float] = (0.1, 0.9),
    theory: xr.Dataset | None = None,
    title: str | None = None,
    colors: Any = None,
    configs: Sequence[int | str] | None = None,
    legend: bool = True,
) -> Any:
    """Plot ``var`` against ``x`` on log-log axes: simulations, theory curves, or both.

    ``ds`` is a simulation (a ``seed`` dimension: mean over seeds, solid, and a ``band``
    quantile band; runs that diverged are left out and counted in the legend) or, without a
    ``seed`` dimension, a theory result (e.g. :func:`optdyn.theory.run`), drawn dashed.
    ``theory`` adds theory curves to a simulation, matched by the ``label`` coordinate: a config
    on both sides gets its band, mean and dashed theory in one colour; theory-only configs get
    their dashed line, simulation-only configs their band (configs whose theory is NaN or
    ``has_theory`` False count as simulation-only). Divergence is marked by an x at the top edge
    (at the median divergence of the runs, or where the theory diverged); a diverging theory
    line is cut where it leaves the plotted range, which is set by the finite simulations (else
    the theory curves that do not diverge).

    ``configs`` draws a subset (labels, or positions in the simulation's configs with the
    theory-only ones merged in; colours stay those of the full figure); ``colors`` overrides the
    palette (a list by that position, or a dict by label). Returns the matplotlib Axes.
    """
    if ds is not None and "seed" not in ds.dims:
        if theory is not None:
            raise ValueError("ds has no seed dimension (a theory result?) and theory is given: "
                             "pass the simulation as ds")
        ds, theory = None, ds
    if ds is None and theory is None:
        raise ValueError("nothing to draw: give a simulation, a theory result, or both")
    if theory is not None and var not in theory:
        raise ValueError(f"the theory dataset has no {var!r} (the noise variance is infinite?)")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.4), constrained_layout=True)
    items = entries(ds, theory, var, configs, colors)
    sims = {e.index: sim_part(e.sim, x, var) for e in items if e.sim is not None}
    ths = {e.index: theory_part(e.theory, x, var) for e in items if e.theory is not None}
    lim = None  # without theory or divergence marks: matplotlib's autoscale (callers add lines)
    if ths or any(p.n_div for p in sims.values()):
        # each config's simulation sets the range, else its theory if it does not diverge
        lim = y_range([p.good for p in sims.values()]
                      + [p.ys for i, p in ths.items() if i not in sims and not p.diverged]) \
            or y_range([p.ys for p in ths.values()])
    kinds: set[str] = set()
    rows = [_draw_entry(ax, e, sims.get(e.index), ths.get(e.index), x, band,
                        lim[1] if lim else None, kinds) for e in items]
    ax.set_xscale("log")
    ax.set_yscale("log")
    if lim is not None:
        ax.set_ylim(*lim)
    ax.set_xlabel(style.label(x))
    ax.set_ylabel(style.label(var))
    if title:
        ax.set_title(title)
    if legend:
        _legend(ax, rows, band, kinds)
    style.log_axes(ax)
    return ax


def overlay(
    simulation: xr.Dataset,
    theory: xr.Dataset,
    ax: Any = None,
    x: str = "t",
    var: str = "risk",
    title: str | None = None,
    configs: Sequence[int | str] | None = None,
    colors: Any = None,
) -> Any:
    """Simulation bands and means (solid) with the theory dashed, configs matched by label.

    ``theory`` is a result of :func:`optdyn.theory.run` (or ``run_available``); it may hold more
    or fewer configs than ``simulation`` (e.g. six theory curves and one simulation): see
    :func:`risk_curves`, which this calls. Raises ValueError if the theory has no ``var``.
    """
    if var not in theory:
        raise ValueError(f"the theory dataset has no {var!r} (the noise variance is infinite?)")
    return risk_curves(simulation, ax=ax, x=x, var=var, theory=theory, title=title,
                       configs=configs, colors=colors)


def save_figure(fig_or_ax: Any, path: str | Path, dpi: int = 150) -> Path:
    """Save a figure (or the figure of an Axes) to ``path`` with every log axis labelled at
    least twice (:func:`optdyn.plot.style.log_axes`); PDFs embed TrueType fonts."""
    fig = fig_or_ax.figure if hasattr(fig_or_ax, "figure") and not hasattr(fig_or_ax, "savefig") \
        else fig_or_ax
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    style.log_axes(fig)
    with plt.rc_context({"pdf.fonttype": 42}):
        fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path

