"""Best-learning-rate search: one grid-plus-refinement tuner for every study and figure.

For a grid of rates lr_1 < ... < lr_n and, at each horizon h, the values v_i(h) (risk or loss of a
run at lr_i, non-finite for a diverged run and then treated as +inf), the grid optimum is
i*(h) = argmin_i v_i(h). The refinement fits the parabola through (log lr, log v) at i* - 1, i*,
i* + 1 and evaluates its vertex (kept inside the bracket) once more; the better of the two is kept.
An optimum at either end of the grid is not bracketed: :func:`search_lr` raises a
:class:`~optdyn.errors.ConfigError` naming ``lrs`` (``at_edge="raise"``, the default) or
reports it in ``edge`` (-1 lower end, +1 upper end; ``at_edge="flag"``), for callers whose upper
end is a stability cap and whose constrained optimum is meaningful.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.traps import quiet_traps

__all__ = ["LrSearch", "grid_minimum", "parabola_vertex", "search_lr", "tune_lr"]


@dataclasses.dataclass(frozen=True)
class LrSearch:
    """The result of :func:`search_lr`: per horizon the best ``lr``, its ``value``, the ``edge``
    flag of the grid optimum, and the ``grid`` with its ``values`` (n_lr, n_horizons)."""

    lr: np.ndarray
    value: np.ndarray
    edge: np.ndarray
    grid: np.ndarray
    values: np.ndarray


def _finite_or_inf(v: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(v), v, np.inf)


def grid_minimum(values: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """(argmin, edge) along ``axis`` with non-finite values as +inf; edge is -1 / 0 / +1."""
    v = _finite_or_inf(np.asarray(values, dtype=float))
    i = np.argmin(v, axis=axis)
    n = v.shape[axis]
    return i, np.where(i == 0, -1, np.where(i == n - 1, 1, 0))


def parabola_vertex(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of (rows, n) arrays: the vertex in x of the parabola through the grid minimum of y
    and its two neighbours (general spacing), clipped to that bracket, and the edge flag.

    With (x0, y0), (x1, y1), (x2, y2) around the minimum, the vertex is
    x1 - [(x1-x0)^2 (y1-y2) - (x1-x2)^2 (y1-y0)] / (2 [(x1-x0)(y1-y2) - (x1-x2)(y1-y0)]).
    At an edge, where the parabola opens downwards or a value is not finite, the grid minimum's
    own x is returned.
    """
    n = y.shape[-1]
    i, edge = grid_minimum(y)
    rows = np.arange(y.shape[0])
    ic = np.clip(i, 1, n - 2)
    x0, x1, x2 = x[rows, ic - 1], x[rows, ic], x[rows, ic + 1]
    y0, y1, y2 = y[rows, ic - 1], y[rows, ic], y[rows, ic + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        num = (x1 - x0) ** 2 * (y1 - y2) - (x1 - x2) ** 2 * (y1 - y0)
        den = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
        xv = x1 - 0.5 * num / den
        curv = (y0 - y1) / (x0 - x1) - (y1 - y2) / (x1 - x2)  # < 0 when convex (x increasing)
    ok = (edge == 0) & np.isfinite(xv) & (curv < 0) & np.isfinite(y0 + y1 + y2)
    return np.where(ok, np.clip(xv, x0, x2), x[rows, i]), edge


def search_lr(evaluate: Callable[[np.ndarray], np.ndarray], lrs: Sequence[float] | np.ndarray,
              *, refine: bool = True, at_edge: Literal["raise", "flag"] = "raise") -> LrSearch:
    """Grid search plus one parabola refinement of the rate minimising ``evaluate``.

    Args:
        evaluate: maps an array of n rates to values of shape (n, H), one column per horizon
            (or (n,) for a single horizon); non-finite values count as diverged (+inf).
        lrs: the increasing grid of positive rates.
        refine: evaluate the per-horizon parabola vertex once more and keep it where better.
        at_edge: ``"raise"`` (an optimum at a grid end is an error naming ``lrs``) or ``"flag"``.
    """
    grid = np.asarray(lrs, dtype=float)
    if grid.ndim != 1 or grid.size < 3 or np.any(grid <= 0) or np.any(np.diff(grid) <= 0):
        raise ConfigError("lrs", f"expected an increasing grid of >= 3 positive rates, got {lrs!r}")
    if at_edge not in ("raise", "flag"):
        raise ConfigError("at_edge", f"expected 'raise' or 'flag', got {at_edge!r}")
    vals = np.asarray(evaluate(grid), dtype=float)
    single = vals.ndim == 1
    vals = vals.reshape(grid.size, -1)
    if vals.shape[0] != grid.size:
        raise ConfigError("evaluate", f"returned {vals.shape[0]} rows for {grid.size} rates")
    h = vals.shape[1]
    i, edge = grid_minimum(vals, axis=0)
    if at_edge == "raise" and np.any(edge != 0):
        where = ", ".join(f"horizon {j}: {'lowest' if e < 0 else 'highest'} rate {grid[i[j]]:.4g}"
                          for j, e in enumerate(edge) if e != 0)
        raise ConfigError("lrs", f"the best rate sits at an end of the grid ({where}); widen it")
    cols = np.arange(h)
    best = _finite_or_inf(vals)[i, cols]
    lr = grid[i].copy()
    if refine:
        with np.errstate(divide="ignore", invalid="ignore"):
            ly = np.log(_finite_or_inf(vals).T)
        xv, _ = parabola_vertex(np.broadcast_to(np.log(grid), (h, grid.size)), ly)
        g = np.exp(xv)
        at = _finite_or_inf(np.asarray(evaluate(g), dtype=float).reshape(h, -1))[cols, cols]
        better = at < best
        best, lr = np.where(better, at, best), np.where(better, g, lr)
    if single:
        lr, best, edge = lr[:1], best[:1], edge[:1]
    return LrSearch(lr=lr, value=best, edge=edge, grid=grid, values=vals)


def tune_lr(problem: Any, optimizer: Any, steps: int | Sequence[int],
            lrs: Sequence[float] | np.ndarray, *,
            engine: Literal["theory", "simulation"] = "theory",
            seeds: int = 2, refine: bool = True, at_edge: Literal["raise", "flag"] = "raise",
            var: str = "risk", **run_kwargs: Any) -> LrSearch:
    """The best constant rate of ``optimizer`` (any optimizer object with an ``lr`` field) on
    ``problem`` at each horizon in ``steps``, from the theory (``theory.run``) or the seed-mean
    simulation (``simulate.run``); all rates of a pass go through the engine in one batched call.
    """
    if not dataclasses.is_dataclass(optimizer) or "lr" not in {
            f.name for f in dataclasses.fields(optimizer)}:
        raise ConfigError("optimizer", f"expected an optimizer with an lr field, got {optimizer!r}")
    if engine not in ("theory", "simulation"):
        raise ConfigError("engine", f"expected 'theory' or 'simulation', got {engine!r}")
    horizons = np.atleast_1d(np.asarray(steps, dtype=np.int64))
    tmax = int(horizons.max())
    if engine == "theory" and "at" not in run_kwargs:
        # the theory is read exactly at each horizon, not at the nearest checkpoint
        from optdyn._core.grid import checkpoint_steps

        grid = checkpoint_steps(tmax, int(run_kwargs.get("points_per_decade", 10)))
        run_kwargs = {**run_kwargs, "at": np.unique(np.r_[grid, horizons])}

    def evaluate(rates: np.ndarray) -> np.ndarray:
        opts = [dataclasses.replace(optimizer, lr=float(g)) for g in rates]
        if engine == "theory":
            from optdyn import theory

            with quiet_traps():  # a grid tries rates that diverge or barely move, on purpose
                ds = theory.run(problem, opts, tmax, **run_kwargs)
            curve = ds[var]
        else:
            from optdyn import simulate

            ds = simulate.run(problem, opts, tmax, seeds=seeds, progress=False, **run_kwargs)
            curve = ds[var].mean("seed")
        curve = curve.values.reshape(len(opts), -1)
        on = ds["step"].values
        missing = [int(t) for t in horizons if t not in on]
        if missing:
            raise ConfigError("steps", f"horizons {missing} are not checkpoints of the "
                              f"simulation grid; choose steps from it (e.g. "
                              f"{[int(on[np.argmin(np.abs(on - t))]) for t in missing]})")
        return curve[:, np.searchsorted(on, horizons)]

    return search_lr(evaluate, lrs, refine=refine, at_edge=at_edge)
