"""Drawing one config: simulation band and mean, theory dashed, where it diverged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["SimPart", "TheoryPart", "sim_part", "theory_part", "draw_sim", "draw_theory",
           "mark_divergence", "y_range"]


@dataclass
class SimPart:
    """A simulation config ready to draw: x > 0, the runs kept and what diverged."""

    xs: np.ndarray
    good: np.ndarray  # (runs that did not diverge, x)
    n_runs: int
    n_div: int
    x_div: float | None  # median x at which the diverged runs diverged


@dataclass
class TheoryPart:
    """A theory config ready to draw: x > 0, its curve and where it diverged."""

    xs: np.ndarray
    ys: np.ndarray
    x_div: float | None = None
    diverged: bool = False


def _step_to_x(sub: xr.Dataset, x: str, steps: np.ndarray) -> np.ndarray:
    if x == "step" or "step" not in sub.coords:
        return steps.astype(float)
    return np.interp(steps, np.asarray(sub["step"].values, float),
                     np.asarray(sub[x].values, float))


def _first_bad_x(xs_all: np.ndarray, row: np.ndarray) -> float:
    bad = np.flatnonzero(~np.isfinite(row))
    return float(xs_all[bad[0]]) if bad.size else float(xs_all[-1])


def sim_part(sub: xr.Dataset, x: str, var: str) -> SimPart:
    """Split a simulation config into kept runs and diverged runs (non-finite, or flagged)."""
    vals = np.asarray(sub[var].transpose("seed", ...).values, dtype=float)
    xs_all = np.asarray(sub[x].values, dtype=float)
    ok = np.all(np.isfinite(vals), axis=-1)
    if "diverged" in sub:
        ok &= ~np.asarray(sub["diverged"].values, dtype=bool).reshape(ok.shape)
    keep = xs_all > 0  # log axes: step 0 is the start, not drawn
    x_div = None
    if (~ok).any():
        where = []
        steps = (np.asarray(sub["diverged_step"].values, float).reshape(ok.shape)
                 if "diverged_step" in sub else np.full(ok.shape, -1.0))
        for r in np.flatnonzero(~ok):
            where.append(float(_step_to_x(sub, x, np.array([steps[r]]))[0]) if steps[r] >= 0
                         else _first_bad_x(xs_all, vals[r]))
        x_div = float(np.median(where))
    return SimPart(xs_all[keep], vals[ok][:, keep], len(ok), int((~ok).sum()), x_div)


def theory_part(sub: xr.Dataset, x: str, var: str) -> TheoryPart:
    """A theory config's curve for x > 0, diverged if flagged or if it turns non-finite."""
    xs_all = np.asarray(sub[x].values, dtype=float)
    ys_all = np.asarray(sub[var].values, dtype=float).reshape(-1)
    keep = xs_all > 0
    flag = "diverged" in sub and np.nan_to_num(np.asarray(sub["diverged"].values,
                                                          dtype=float)).item() > 0
    finite = np.isfinite(ys_all)
    turns = finite.any() and not finite[np.flatnonzero(finite)[0]:].all()
    part = TheoryPart(xs_all[keep], ys_all[keep], diverged=bool(flag or turns))
    if part.diverged:
        step = float(sub["diverged_step"].values) if "diverged_step" in sub else -1.0
        part.x_div = (float(_step_to_x(sub, x, np.array([step]))[0]) if step >= 0
                      else _first_bad_x(xs_all, ys_all))
    return part


def y_range(parts: list[np.ndarray]) -> tuple[float, float] | None:
    """Log-axis limits around the positive finite values of ``parts``, or None if there are none."""
    vals = np.concatenate([np.ravel(p) for p in parts]) if parts else np.array([])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if not vals.size:
        return None
    return float(vals.min()) / 2.0, float(vals.max()) * 3.0


def draw_sim(ax: Any, p: SimPart, st: dict[str, Any], band: tuple[float, float],
             label: str) -> Any:
    """Band (quantiles ``band``) and mean of the kept runs, solid; returns the mean's line."""
    if not p.good.shape[0]:
        (line,) = ax.plot([], [], lw=1.6, ls=":", label=label, **st)
        return line
    lo, hi = np.quantile(p.good, band, axis=0)
    ax.fill_between(p.xs, lo, hi, color=st["color"], alpha=0.22, lw=0)
    (line,) = ax.plot(p.xs, p.good.mean(axis=0), lw=1.6, label=label, **st)
    return line


def draw_theory(ax: Any, p: TheoryPart, st: dict[str, Any], top: float | None,
                label: str) -> tuple[Any, float | None]:
    """The theory dashed in its config's colour; a diverging one is cut one point after it
    leaves the top ``top`` of the plotted range (the axes clip the rest). Returns the line and
    the x where it crosses the top edge (None if it does not)."""
    ys = p.ys
    finite = np.isfinite(ys)
    stop = int(np.flatnonzero(~finite)[0]) if (~finite).any() else ys.size
    x_exit = None
    above = np.flatnonzero(finite & (ys > top)) if top is not None and p.diverged else []
    if len(above) and above[0] < stop:
        i = int(above[0])
        stop = i + 1  # one point past the edge
        x_exit = float(p.xs[i])
        if i > 0 and ys[i - 1] > 0:  # where the segment crosses the edge, in log-log
            lx, ly = np.log(p.xs[i - 1:i + 1]), np.log(ys[i - 1:i + 1])
            x_exit = float(np.exp(lx[0] + (np.log(top) - ly[0]) / (ly[1] - ly[0])
                                  * (lx[1] - lx[0])))
    (line,) = ax.plot(p.xs[:stop], ys[:stop], ls="--", lw=1.3, label=label, **st)
    return line, x_exit


def mark_divergence(ax: Any, x_div: float | None, color: Any) -> None:
    """An x in ``color`` at the top edge of the axes, at ``x_div`` (data coordinates)."""
    if x_div is None or not np.isfinite(x_div) or x_div <= 0:
        return
    ax.plot([x_div], [0.97], ls="none", marker="x", ms=8, mew=2.0, color=color,
            transform=ax.get_xaxis_transform(), clip_on=False, zorder=6)
