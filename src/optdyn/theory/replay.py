"""Per-step schedules read off a theory curve, for replay in simulation.

A feedback schedule (a threshold or a learning rate that depends on the risk R(t) of the ODE) is
turned into one value per step k = 0..steps-1 from the ODE's risk on a dense grid (every step up
to 20 000 steps, a geometric + linear grid beyond), held between grid points, and passed to the
simulation as a :class:`~optdyn.schedules.PiecewiseArray`, so theory and simulation run the same
schedule.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["replay_grid", "schedule_values", "hold"]


def replay_grid(steps: int, max_points: int = 20_000) -> np.ndarray:
    """Integer steps 0..steps at which the ODE is recorded for a replay (all of them when
    ``steps <= max_points``)."""
    if steps <= max_points:
        return np.arange(0, steps + 1)
    geo = np.round(np.geomspace(1.0, steps, max_points // 2)).astype(np.int64)
    lin = np.round(np.linspace(0, steps, max_points // 2)).astype(np.int64)
    return np.unique(np.concatenate([[0], geo, lin]))


def schedule_values(sched: Any, steps: np.ndarray) -> np.ndarray:
    """A schedule's values at integer steps (vectorised)."""
    return np.broadcast_to(np.asarray(sched(np.asarray(steps, dtype=float)), dtype=float),
                           steps.shape).copy()


def hold(grid: np.ndarray, values: np.ndarray, steps: int) -> np.ndarray:
    """Values known at grid points, held constant to the next grid point, at k = 0..steps-1."""
    k = np.arange(int(steps))
    return np.asarray(values)[np.searchsorted(grid, k, side="right") - 1]
